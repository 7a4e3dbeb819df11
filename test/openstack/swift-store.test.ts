// The Swift artifact store on a real Swift (test/tools/start-swift.sh; with Keystone,
// test/tools/start-keystone.sh): content addressing, containers per project, SLO above the
// segment size, TempURL downloads (and their expiry), direct uploads that become a blob only
// once checked, and the removal of stale uploads.

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import {
	BlobTooLargeError,
	ChecksumMismatchError,
	UploadRejectedError,
} from "../../src/artifacts/artifact-store.ts";
import { keystoneAuth } from "../../src/artifacts/swift/keystone-auth.ts";
import { objectPath } from "../../src/artifacts/swift/object-client.ts";
import { serverUrl } from "../helpers/servers.ts";
import { type SwiftAuthKind, swiftTestStore } from "../helpers/swift-store.ts";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

async function bytesOf(r: Readable | null): Promise<Buffer | null> {
	if (!r) return null;
	const chunks: Buffer[] = [];
	for await (const c of r) chunks.push(Buffer.from(c));
	return Buffer.concat(chunks);
}

function suite(kind: SwiftAuthKind, skip: string | false) {
	describe(`swift artifact store (${kind})`, { skip }, () => {
		test("blobs live per project under their sha256; above the segment size as an SLO", async () => {
			const { store, prefix } = swiftTestStore(kind, 64 * 1024);
			const small = Buffer.from("hello swift\n");
			const big = randomBytes(200 * 1024 + 17); // four segments
			const a = await store.put(Readable.from([small]), { maxBytes: 1 << 20, project: "PROJA" });
			assert.deepEqual(a, { sha256: sha(small), size: small.length });
			const b = await store.put(Readable.from([big.subarray(0, 1000), big.subarray(1000)]), {
				maxBytes: 1 << 20,
				project: "PROJA",
				expectedSha256: sha(big),
			});
			assert.equal(b.size, big.length);
			// The manifest is an SLO over segments (Swift says so on the manifest itself).
			const head = await store.client.call("HEAD", objectPath(`${prefix}PROJA`, `blobs/${b.sha256}`), {
				query: "multipart-manifest=get",
			});
			assert.equal(head.headers.get("x-static-large-object"), "True");
			assert.deepEqual(await bytesOf(await store.get(b.sha256, { project: "PROJA" })), big);
			assert.deepEqual(await bytesOf(await store.get(a.sha256, { project: "PROJA" })), small);
			// Another project's container does not hold it; a global blob goes to <prefix>_global.
			assert.equal(await store.has(a.sha256, { project: "PROJB" }), false);
			await store.put(Readable.from([small]), { maxBytes: 1 << 20 });
			const listed = [];
			for await (const s of store.list()) listed.push(s);
			listed.sort((x, y) => `${x.project}${x.sha256}`.localeCompare(`${y.project}${y.sha256}`));
			assert.deepEqual(
				listed,
				[
					{ sha256: a.sha256, project: "PROJA" },
					{ sha256: b.sha256, project: "PROJA" },
					{ sha256: a.sha256 },
				].sort((x, y) => `${x.project}${x.sha256}`.localeCompare(`${y.project}${y.sha256}`)),
			);
			// Deleting the SLO takes its segments along.
			await store.delete(b.sha256, { project: "PROJA" });
			await store.delete(a.sha256, { project: "PROJA" });
			await store.delete(a.sha256);
			const left = [];
			for await (const o of store.client.list(`${prefix}PROJA`, "")) left.push(o.name);
			assert.deepEqual(left, []);
		});

		test("a wrong checksum through the API leaves nothing", async () => {
			const { store, prefix } = swiftTestStore(kind, 64 * 1024);
			await assert.rejects(
				store.put(Readable.from([randomBytes(150 * 1024)]), {
					maxBytes: 1 << 20,
					project: "P",
					expectedSha256: "0".repeat(64),
				}),
				ChecksumMismatchError,
			);
			const left = [];
			for await (const o of store.client.list(`${prefix}P`, "")) left.push(o.name);
			assert.deepEqual(left, []);
		});

		test("TempURL download works until it expires, then Swift refuses it", async () => {
			const { store } = swiftTestStore(kind);
			const body = Buffer.from("temp url body");
			const { sha256 } = await store.put(Readable.from([body]), { maxBytes: 100, project: "P" });
			const ok = await store.presign!({ method: "GET", sha256, project: "P", expiresInSeconds: 60 });
			const res = await fetch(ok.url);
			assert.equal(res.status, 200);
			assert.deepEqual(Buffer.from(await res.arrayBuffer()), body);
			const expired = await store.presign!({ method: "GET", sha256, project: "P", expiresInSeconds: -10 });
			const refused = await fetch(expired.url);
			await refused.arrayBuffer();
			assert.equal(refused.status, 401);
			// A signature for one object does not open another.
			const other = ok.url.replace(`blobs/${sha256}`, `blobs/${"a".repeat(64)}`);
			const denied = await fetch(other);
			await denied.arrayBuffer();
			assert.equal(denied.status, 401);
		});

		test("a direct upload becomes its blob only after the store checked it", async () => {
			const { store, prefix } = swiftTestStore(kind);
			const body = randomBytes(10_000);
			const url = await store.presign!({
				method: "PUT",
				sha256: sha(body),
				size: body.length,
				project: "P",
				expiresInSeconds: 60,
			});
			assert.match(url.url, /\/uploads\/[a-f0-9]{32}\?/, "the URL names an upload, never the hash");
			const put = await fetch(url.url, { method: "PUT", headers: url.headers, body });
			await put.arrayBuffer();
			assert.equal(put.status, 201);
			assert.equal(await store.has(sha(body), { project: "P" }), false, "not addressable before the commit");
			const info = await store.commitUpload!({
				uploadId: url.uploadId!,
				sha256: sha(body),
				size: body.length,
				maxBytes: 1 << 20,
				project: "P",
			});
			assert.deepEqual(info, { sha256: sha(body), size: body.length });
			assert.deepEqual(await bytesOf(await store.get(sha(body), { project: "P" })), body);
			// The blob does not inherit the upload object's expiry.
			const head = await store.client.call("HEAD", objectPath(`${prefix}P`, `blobs/${sha(body)}`));
			assert.equal(head.headers.get("x-delete-at"), null);
			const left = [];
			for await (const o of store.client.list(`${prefix}P`, "")) left.push(o.name);
			assert.deepEqual(left, [`blobs/${sha(body)}`]);
		});

		test("a forged upload (other bytes for a claimed hash) is refused and stores nothing under that hash", async () => {
			const { store, prefix } = swiftTestStore(kind);
			const claimed = Buffer.from("the real release binary");
			const forged = Buffer.from("the evil release binary");
			const url = await store.presign!({
				method: "PUT",
				sha256: sha(claimed),
				size: claimed.length,
				project: "P",
				expiresInSeconds: 60,
			});
			const put = await fetch(url.url, { method: "PUT", headers: url.headers, body: forged });
			await put.arrayBuffer();
			assert.equal(put.status, 201);
			await assert.rejects(
				store.commitUpload!({
					uploadId: url.uploadId!,
					sha256: sha(claimed),
					size: claimed.length,
					maxBytes: 1 << 20,
					project: "P",
				}),
				ChecksumMismatchError,
			);
			assert.equal(await store.has(sha(claimed), { project: "P" }), false);
			assert.equal(await store.has(sha(forged), { project: "P" }), false);
			const left = [];
			for await (const o of store.client.list(`${prefix}P`, "")) left.push(o.name);
			assert.deepEqual(left, [], "the upload and its verification copy are gone");
			// A wrong size and an upload that never arrived are refused too.
			const url2 = await store.presign!({
				method: "PUT",
				sha256: sha(claimed),
				size: 5,
				project: "P",
				expiresInSeconds: 60,
			});
			await (await fetch(url2.url, { method: "PUT", headers: url2.headers, body: claimed })).arrayBuffer();
			await assert.rejects(
				store.commitUpload!({
					uploadId: url2.uploadId!,
					sha256: sha(claimed),
					size: 5,
					maxBytes: 100,
					project: "P",
				}),
				UploadRejectedError,
			);
			await assert.rejects(
				store.commitUpload!({
					uploadId: "f".repeat(32),
					sha256: sha(claimed),
					size: 1,
					maxBytes: 100,
					project: "P",
				}),
				/has not arrived/,
			);
			// Above one segment there is no direct upload: the worker streams through the API.
			await assert.rejects(
				store.presign!({
					method: "PUT",
					sha256: sha(claimed),
					size: 1 << 30,
					project: "P",
					expiresInSeconds: 60,
				}),
				UploadRejectedError,
			);
		});

		/** A direct upload of `body` in parts: the plan, every part PUT (`forge` may change one). */
		async function uploadParts(
			store: ReturnType<typeof swiftTestStore>["store"],
			body: Buffer,
			forge?: (n: number, part: Buffer) => Buffer,
		) {
			const plan = await store.presign!({
				method: "PUT",
				sha256: sha(body),
				size: body.length,
				parts: true,
				project: "P",
				expiresInSeconds: 60,
			});
			let start = 0;
			for (const [n, part] of plan.parts!.entries()) {
				let bytes = body.subarray(start, start + part.size);
				start += part.size;
				if (forge) bytes = forge(n, bytes);
				const put = await fetch(part.url, { method: "PUT", headers: plan.headers, body: bytes });
				await put.arrayBuffer();
				assert.equal(put.status, 201);
			}
			return plan;
		}

		async function names(store: ReturnType<typeof swiftTestStore>["store"], container: string) {
			const left = [];
			for await (const o of store.client.list(container, "")) left.push(o.name);
			return left;
		}

		test("a direct upload above one segment goes in parts and becomes an SLO over them once checked", async () => {
			const { store, prefix } = swiftTestStore(kind, 64 * 1024);
			const body = randomBytes(3 * 64 * 1024 + 123); // four parts, the last one short
			const plan = await uploadParts(store, body);
			assert.deepEqual(
				plan.parts!.map((p) => p.size),
				[65536, 65536, 65536, 123],
			);
			for (const p of plan.parts!) {
				assert.match(p.url, new RegExp(`/uploads/${plan.uploadId}/\\d{6}\\?`));
				assert.doesNotMatch(p.url, new RegExp(sha(body)));
			}
			assert.equal(await store.has(sha(body), { project: "P" }), false, "not addressable before the commit");
			const info = await store.commitUpload!({
				uploadId: plan.uploadId!,
				sha256: sha(body),
				size: body.length,
				maxBytes: 1 << 20,
				project: "P",
			});
			assert.deepEqual(info, { sha256: sha(body), size: body.length });
			const manifest = await store.client.call("HEAD", objectPath(`${prefix}P`, `blobs/${sha(body)}`), {
				query: "multipart-manifest=get",
			});
			assert.equal(manifest.headers.get("x-static-large-object"), "True");
			assert.deepEqual(await bytesOf(await store.get(sha(body), { project: "P" })), body);
			// The manifest is over the frozen segments (no second copy), which no longer expire.
			const segments = [0, 1, 2, 3].map((n) => `segments/${plan.uploadId}/00000${n}`);
			assert.deepEqual(await names(store, `${prefix}P`), [`blobs/${sha(body)}`, ...segments]);
			for (const name of segments) {
				const head = await store.client.call("HEAD", objectPath(`${prefix}P`, name));
				assert.equal(head.headers.get("x-delete-at"), null, name);
			}
			// Garbage collection keeps a committed blob's segments; deleting the blob takes them.
			assert.equal(await store.collectStale!(0, Date.now() + 5_000), 0);
			await store.delete(sha(body), { project: "P" });
			assert.deepEqual(await names(store, `${prefix}P`), []);
		});

		test("a forged part, a short part or a missing one is refused and stores nothing", async () => {
			const { store, prefix } = swiftTestStore(kind, 64 * 1024);
			const body = randomBytes(2 * 64 * 1024 + 5000);
			const forged = await uploadParts(store, body, (n, part) => {
				if (n !== 1) return part;
				const other = Buffer.from(part);
				other[100] = other[100]! ^ 0xff; // same size, one byte changed
				return other;
			});
			await assert.rejects(
				store.commitUpload!({
					uploadId: forged.uploadId!,
					sha256: sha(body),
					size: body.length,
					maxBytes: 1 << 20,
					project: "P",
				}),
				ChecksumMismatchError,
			);
			assert.equal(await store.has(sha(body), { project: "P" }), false);
			assert.deepEqual(await names(store, `${prefix}P`), [], "its parts and segments are gone");
			const short = await uploadParts(store, body, (n, part) => (n === 0 ? part.subarray(1) : part));
			await assert.rejects(
				store.commitUpload!({
					uploadId: short.uploadId!,
					sha256: sha(body),
					size: body.length,
					maxBytes: 1 << 20,
					project: "P",
				}),
				/part 0 holds 65535 bytes, not the 65536 announced/,
			);
			assert.deepEqual(await names(store, `${prefix}P`), []);
			const plan = await store.presign!({
				method: "PUT",
				sha256: sha(body),
				size: body.length,
				parts: true,
				project: "P",
				expiresInSeconds: 60,
			});
			const first = await fetch(plan.parts![0]!.url, {
				method: "PUT",
				headers: plan.headers,
				body: body.subarray(0, 65536),
			});
			await first.arrayBuffer();
			await assert.rejects(
				store.commitUpload!({
					uploadId: plan.uploadId!,
					sha256: sha(body),
					size: body.length,
					maxBytes: 1 << 20,
					project: "P",
				}),
				/part 1 has not arrived/,
			);
			assert.deepEqual(await names(store, `${prefix}P`), []);
			// Above the cap: refused before anything is read.
			const big = await uploadParts(store, body);
			await assert.rejects(
				store.commitUpload!({
					uploadId: big.uploadId!,
					sha256: sha(body),
					size: body.length,
					maxBytes: 100_000,
					project: "P",
				}),
				BlobTooLargeError,
			);
			assert.deepEqual(await names(store, `${prefix}P`), []);
		});

		test("stale parts and the segments of a commit that died are collected", async () => {
			const { store, prefix } = swiftTestStore(kind, 64 * 1024);
			const body = randomBytes(64 * 1024 + 10);
			await uploadParts(store, body); // never committed
			// A commit that died after freezing: a segment that still expires.
			await store.client.call("PUT", objectPath(`${prefix}P`, `segments/${"e".repeat(32)}/000000`), {
				body: "frozen",
				headers: { "X-Delete-After": "3600" },
			});
			// A blob made through the API (its segments no longer expire) stays.
			const kept = await store.put(Readable.from([randomBytes(70 * 1024)]), {
				maxBytes: 1 << 20,
				project: "P",
			});
			assert.equal(await store.collectStale!(3_600_000), 0, "fresh ones stay");
			assert.equal(await store.collectStale!(0, Date.now() + 5_000), 3);
			const left = await names(store, `${prefix}P`);
			assert.equal(left.length, 3, left.join(","));
			assert.deepEqual(left[0], `blobs/${kept.sha256}`);
			assert.ok(left.slice(1).every((n) => n.startsWith("segments/") && !n.includes("e".repeat(32))));
		});

		test("stale uploads are removed; fresh ones kept", async () => {
			const { store, prefix } = swiftTestStore(kind);
			const url = await store.presign!({
				method: "PUT",
				sha256: "0".repeat(64),
				size: 3,
				project: "P",
				expiresInSeconds: 60,
			});
			await (await fetch(url.url, { method: "PUT", headers: url.headers, body: "abc" })).arrayBuffer();
			// Swift expires it by itself (X-Delete-After) …
			const head = await store.client.call("HEAD", objectPath(`${prefix}P`, `uploads/${url.uploadId}`));
			assert.ok(Number(head.headers.get("x-delete-at")) > Date.now() / 1000);
			// … and the collector removes what is older than the limit.
			assert.equal(await store.collectStale!(3_600_000), 0);
			assert.equal(await store.collectStale!(0, Date.now() + 5_000), 1);
			const left = [];
			for await (const o of store.client.list(`${prefix}P`, "")) left.push(o.name);
			assert.deepEqual(left, []);
		});
	});
}

const swift = serverUrl("SWIFT_URL");
suite("tempauth", swift.skip);
const keystone = serverUrl("KEYSTONE_URL");
suite("keystone", keystone.skip);

describe("Keystone addresses", { skip: keystone.skip }, () => {
	test("a v2.0 address (the integration model's example) works as v3 at that host, with a warning", async () => {
		const warnings: string[] = [];
		const v2 = keystone.url!.replace(/\/v3$/, "/v2.0");
		const auth = keystoneAuth(
			{
				authUrl: v2,
				user: process.env.KEYSTONE_USER!,
				password: process.env.KEYSTONE_PASSWORD!,
				project: process.env.KEYSTONE_PROJECT!,
				domain: "Default",
				region: process.env.KEYSTONE_REGION,
			},
			(m) => warnings.push(m),
		);
		assert.equal(warnings.length, 1);
		assert.ok(warnings[0]!.includes(v2) && warnings[0]!.includes(keystone.url!), warnings[0]);
		assert.ok(!warnings[0]!.includes(process.env.KEYSTONE_PASSWORD!));
		const { storageUrl } = await auth.credentials();
		assert.equal(new URL(storageUrl).origin, process.env.SWIFT_KEYSTONE_URL);
	});

	test("a wrong password is refused with a message that does not hold it", async () => {
		const auth = keystoneAuth({
			authUrl: keystone.url!,
			user: process.env.KEYSTONE_USER!,
			password: "not-the-password-0123",
			project: process.env.KEYSTONE_PROJECT!,
			domain: "Default",
		});
		await assert.rejects(
			auth.credentials(),
			(e: Error) =>
				/refused user cds-tester .*HTTP 401/.test(e.message) && !e.message.includes("not-the-password"),
		);
	});
});
