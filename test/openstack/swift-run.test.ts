// Real runs on the Swift artifact store (test/tools/start-swift.sh, and through Keystone with
// test/tools/start-keystone.sh): a job uploads a small artifact by TempURL (then commits it) and
// a large one (~3 segments) by TempURL too, in parts that the commit makes an SLO; the next job
// downloads both by TempURL. No byte goes through the API. A forged direct upload (one object or
// one part of several) is refused through the worker API and stores nothing under the claimed
// hash. Garbage collection removes unreferenced blobs with their segments (retention, as the
// other stores) and stale uploads and parts.

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { ArtifactStore } from "../../src/artifacts/artifact-store.ts";
import type { SwiftArtifactStore } from "../../src/artifacts/swift/swift-artifact-store.ts";
import { runtimeOf } from "../../services/support/runtime.ts";
import { serverUrl } from "../helpers/servers.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const FINAL = new Set(["Success", "Fail", "Stopped", "Skipped"]);
const SEGMENT = 64 * 1024;

function swiftEnv(kind: "tempauth" | "keystone", prefix: string): Record<string, string> {
	const common = {
		CDS_ARTIFACT_STORE: "swift",
		CDS_SWIFT_CONTAINER_PREFIX: prefix,
		CDS_SWIFT_SEGMENT_BYTES: String(SEGMENT),
	};
	if (kind === "tempauth")
		return {
			...common,
			CDS_SWIFT_AUTH_KIND: "tempauth",
			CDS_SWIFT_AUTH_URL: `${process.env.SWIFT_URL}/auth/v1.0`,
			CDS_SWIFT_USER: process.env.SWIFT_USER!,
			CDS_SWIFT_PASSWORD: process.env.SWIFT_KEY!,
		};
	return {
		...common,
		CDS_SWIFT_AUTH_KIND: "keystone",
		CDS_SWIFT_AUTH_URL: process.env.KEYSTONE_URL!,
		CDS_SWIFT_USER: process.env.KEYSTONE_USER!,
		CDS_SWIFT_PASSWORD: process.env.KEYSTONE_PASSWORD!,
		CDS_SWIFT_PROJECT: process.env.KEYSTONE_PROJECT!,
		CDS_SWIFT_REGION: process.env.KEYSTONE_REGION!,
	};
}

const PIPELINE = [
	"version: v1.0",
	"name: pass",
	"stages: [make, use]",
	"jobs:",
	"- job: make",
	"  stage: make",
	"  steps:",
	"  - script:",
	"    - mkdir -p out && echo small-{{.cds.version}} > out/small.txt",
	`    - head -c ${3 * SEGMENT + 123} /dev/urandom > out/big.bin`,
	"    - cd out && sha256sum small.txt big.bin > sums",
	"  - artifactUpload:",
	"      path: out/small.txt",
	"      tag: '{{.cds.version}}'",
	"  - artifactUpload:",
	"      path: out/big.bin",
	"      tag: '{{.cds.version}}'",
	"  - artifactUpload:",
	"      path: out/sums",
	"      tag: '{{.cds.version}}'",
	"- job: use",
	"  stage: use",
	"  steps:",
	"  - artifactDownload:",
	"      path: in",
	"      tag: '{{.cds.version}}'",
	"  - script:",
	"    - cat in/small.txt",
	"    - cd in && sha256sum -c sums && echo all-sums-match",
	"",
].join("\n");

/** Counts the store's calls, so a test tells a TempURL transfer from one through the API. */
function spy(store: ArtifactStore) {
	const calls: string[] = [];
	for (const m of ["put", "get", "presign", "commitUpload"] as const) {
		const original = (store as unknown as Record<string, (...a: unknown[]) => unknown>)[m]!.bind(store);
		(store as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => {
			const first = a[0] as { method?: string };
			calls.push(m === "presign" ? `presign ${first.method}` : m);
			return original(...a);
		};
	}
	return calls;
}

function suite(kind: "tempauth" | "keystone", skip: string | false) {
	describe(`runs on the Swift artifact store (${kind})`, { skip }, () => {
		let s: TestServer;
		let store: SwiftArtifactStore;
		let calls: string[];
		const prefix = `r${randomBytes(4).toString("hex")}-`;
		before(async () => {
			s = await startTestServer({
				CDS_HATCHERY_POLL_MS: "100",
				CDS_HISTORY_LENGTH: "1",
				...swiftEnv(kind, prefix),
			});
			store = runtimeOf(s.server.broker).artifacts as SwiftArtifactStore;
			calls = spy(store);
			assert.equal((await s.api("POST", "/api/v1/projects", { key: "ART", name: "a" })).status, 201);
			const files = [
				{ path: "w.yml", content: "name: art\nversion: v1.0\npipeline: pass\n" },
				{ path: "pass.pip.yml", content: PIPELINE },
			];
			const imp = await s.api("POST", "/api/v1/projects/ART/import", { files });
			assert.equal(imp.status, 200, JSON.stringify(imp.body));
		});
		after(async () => s?.stop());

		async function run() {
			const n = (await s.api("POST", "/api/v1/projects/ART/workflows/art/runs", {})).body.number;
			let r: any;
			for (let i = 0; i < 600; i++) {
				r = (await s.api("GET", `/api/v1/projects/ART/workflows/art/runs/${n}`)).body;
				if (FINAL.has(r.status)) break;
				await new Promise((res) => setTimeout(res, 100));
			}
			const logs = (await s.api("GET", `/api/v1/projects/ART/workflows/art/runs/${n}/logs?limit=5000`)).body
				.items;
			return { n, run: r, text: logs.map((l: { text: string }) => l.text).join("") };
		}

		test("a job uploads by TempURL, a file of ~3 segments in parts; the next downloads both by TempURL", async () => {
			const { n, run: r, text } = await run();
			assert.equal(r.status, "Success", `${JSON.stringify(r.nodes)}\n${text}`);
			assert.match(text, new RegExp(`small-${n}`));
			assert.match(text, /all-sums-match/);
			// All three went straight to Swift and were committed — big.bin in four parts —, none
			// streamed through the API (its upload route calls `put`); the downloads were all signed.
			assert.equal(calls.filter((c) => c === "presign PUT").length, 3, calls.join(","));
			assert.equal(calls.filter((c) => c === "commitUpload").length, 3, calls.join(","));
			assert.equal(calls.filter((c) => c === "put").length, 0, calls.join(","));
			assert.equal(calls.filter((c) => c === "presign GET").length, 3, calls.join(","));
			assert.equal(calls.filter((c) => c === "get").length, 0, calls.join(","));
			const blobs = [];
			for await (const b of store.list()) blobs.push(b);
			assert.equal(blobs.length, 3);
			assert.ok(blobs.every((b) => b.project === "ART"));
			const left = [];
			for await (const o of store.client.list(`${prefix}ART`, "uploads/")) left.push(o.name);
			for await (const o of store.client.list(`${prefix}ART`, "verify/")) left.push(o.name);
			assert.deepEqual(left, [], "no upload object left once committed");
			// big.bin is an SLO over the four segments its parts were frozen into.
			const segments = [];
			for await (const o of store.client.list(`${prefix}ART`, "segments/")) segments.push(o.bytes);
			assert.deepEqual(segments, [SEGMENT, SEGMENT, SEGMENT, 123]);
		});

		test("a forged direct upload is refused by the worker API and stores nothing under the claimed hash", async () => {
			const { run: r } = await run();
			const job = r.nodes[0].stages[0].jobs[0];
			const jobId = job.id ?? job._id;
			assert.ok(jobId, JSON.stringify(job));
			const meta = { meta: { user: { id: "worker", role: "read", project: "ART", job: jobId } } };
			const claimed = Buffer.from("the release everyone downloads");
			const forged = Buffer.from("the release everyone DOWNLOADS"); // same size, other bytes
			const sha = createHash("sha256").update(claimed).digest("hex");
			const plan = (await s.server.broker.call(
				"worker.directArtifactUpload",
				{ tag: "forged", name: "release.bin", size: claimed.length, sha256: sha },
				meta,
			)) as { direct: boolean; url: string; headers: Record<string, string>; uploadId: string };
			assert.equal(plan.direct, true);
			assert.doesNotMatch(plan.url, new RegExp(sha), "the URL never names the claimed hash");
			const put = await fetch(plan.url, { method: "PUT", headers: plan.headers, body: forged });
			await put.arrayBuffer();
			assert.equal(put.status, 201);
			await assert.rejects(
				s.server.broker.call(
					"worker.commitArtifactUpload",
					{ tag: "forged", name: "release.bin", size: claimed.length, sha256: sha, uploadId: plan.uploadId },
					meta,
				),
				(e: { code?: number; message?: string }) =>
					e.code === 422 && /upload refused: checksum mismatch/.test(e.message ?? ""),
			);
			assert.equal(await store.has(sha, { project: "ART" }), false);
			const listed = await s.server.broker.call("worker.listArtifacts", { tag: "forged" }, meta);
			assert.deepEqual((listed as { items: unknown[] }).items, [], "no reference either");

			// Above one segment: one part of three carries other bytes.
			const big = randomBytes(2 * SEGMENT + 77);
			const bigSha = createHash("sha256").update(big).digest("hex");
			const parts = (await s.server.broker.call(
				"worker.directArtifactUpload",
				{ tag: "forged", name: "big.bin", size: big.length, sha256: bigSha, parts: true },
				meta,
			)) as typeof plan & { parts: { url: string; size: number }[] };
			assert.equal(parts.parts.length, 3);
			let start = 0;
			for (const [n, part] of parts.parts.entries()) {
				const bytes = Buffer.from(big.subarray(start, start + part.size));
				start += part.size;
				if (n === 2) bytes[0] = bytes[0]! ^ 1;
				const res = await fetch(part.url, { method: "PUT", headers: parts.headers, body: bytes });
				await res.arrayBuffer();
				assert.equal(res.status, 201);
			}
			const segmentsBefore = [];
			for await (const o of store.client.list(`${prefix}ART`, "segments/")) segmentsBefore.push(o.name);
			await assert.rejects(
				s.server.broker.call(
					"worker.commitArtifactUpload",
					{ tag: "forged", name: "big.bin", size: big.length, sha256: bigSha, uploadId: parts.uploadId },
					meta,
				),
				(e: { code?: number; message?: string }) =>
					e.code === 422 && /upload refused: checksum mismatch/.test(e.message ?? ""),
			);
			assert.equal(await store.has(bigSha, { project: "ART" }), false);
			const leftover = [];
			for await (const o of store.client.list(`${prefix}ART`, "")) leftover.push(o.name);
			assert.ok(
				leftover.every((n) => !n.includes(parts.uploadId)),
				`nothing of the refused upload is left: ${leftover.join(",")}`,
			);
			const segmentsAfter = [];
			for await (const o of store.client.list(`${prefix}ART`, "segments/")) segmentsAfter.push(o.name);
			assert.deepEqual(segmentsAfter, segmentsBefore);
		});

		test("garbage collection: blobs of expired runs and stale uploads go", async () => {
			// A direct upload never committed (its worker died after the PUT).
			const stale = await store.presign!({
				method: "PUT",
				sha256: "0".repeat(64),
				size: 3,
				project: "ART",
				expiresInSeconds: 60,
			});
			await (await fetch(stale.url, { method: "PUT", headers: stale.headers, body: "abc" })).arrayBuffer();
			// And one in two parts, never committed either.
			const staleParts = await store.presign!({
				method: "PUT",
				sha256: "1".repeat(64),
				size: SEGMENT + 1,
				parts: true,
				project: "ART",
				expiresInSeconds: 60,
			});
			for (const part of staleParts.parts!)
				await (
					await fetch(part.url, { method: "PUT", headers: staleParts.headers, body: randomBytes(part.size) })
				).arrayBuffer();
			const segmentsBefore = [];
			for await (const o of store.client.list(`${prefix}ART`, "segments/")) segmentsBefore.push(o.name);
			assert.ok(segmentsBefore.length >= 8, "two runs' big.bin, each an SLO of four segments");
			const before = [];
			for await (const b of store.list()) before.push(b.sha256);
			const first = (await s.server.broker.call("run.collectGarbage", { graceMs: 0, staleUploadMs: 0 })) as {
				expiredRefs: number;
				staleUploads: number;
			};
			assert.ok(first.expiredRefs >= 3, JSON.stringify(first));
			assert.equal(first.staleUploads, 3);
			const second = (await s.server.broker.call("run.collectGarbage", { graceMs: 0 })) as {
				deletedBlobs: number;
			};
			assert.ok(second.deletedBlobs >= 1, JSON.stringify(second));
			const after = [];
			for await (const b of store.list()) after.push(b.sha256);
			assert.equal(after.length, before.length - second.deletedBlobs);
			// What the kept run refers to is still there.
			const refs = await s.server.store.collection<{ _id: string; sha256: string }>({
				name: "artifact_refs",
			});
			for (const ref of await refs.find({})) assert.ok(after.includes(ref.sha256));
			const uploads = [];
			for await (const o of store.client.list(`${prefix}ART`, "uploads/")) uploads.push(o.name);
			assert.deepEqual(uploads, []);
			// The deleted blobs' segments went with them: only the kept run's big.bin has segments.
			const segmentsAfter = [];
			for await (const o of store.client.list(`${prefix}ART`, "segments/")) segmentsAfter.push(o.name);
			assert.equal(segmentsAfter.length, 4, segmentsAfter.join(","));
		});
	});
}

const swift = serverUrl("SWIFT_URL");
suite("tempauth", swift.skip);

describe("runs on the Swift artifact store without TempURLs (CDS_SWIFT_TEMPURL=false)", {
	skip: swift.skip,
}, () => {
	let s: TestServer;
	after(async () => s?.stop());
	test("every byte goes through the API, both ways, and the run still moves its artifacts", async () => {
		const prefix = `n${randomBytes(4).toString("hex")}-`;
		s = await startTestServer({
			CDS_HATCHERY_POLL_MS: "100",
			...swiftEnv("tempauth", prefix),
			CDS_SWIFT_TEMPURL: "false",
		});
		const store = runtimeOf(s.server.broker).artifacts as SwiftArtifactStore;
		assert.equal(store.presign, undefined, "a store without TempURLs signs nothing");
		const calls = (() => {
			const seen: string[] = [];
			for (const m of ["put", "get"] as const) {
				const original = store[m].bind(store) as (...a: unknown[]) => unknown;
				(store as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => {
					seen.push(m);
					return original(...a);
				};
			}
			return seen;
		})();
		assert.equal((await s.api("POST", "/api/v1/projects", { key: "ART", name: "a" })).status, 201);
		const files = [
			{ path: "w.yml", content: "name: art\nversion: v1.0\npipeline: pass\n" },
			{ path: "pass.pip.yml", content: PIPELINE },
		];
		assert.equal((await s.api("POST", "/api/v1/projects/ART/import", { files })).status, 200);
		const n = (await s.api("POST", "/api/v1/projects/ART/workflows/art/runs", {})).body.number;
		let r: any;
		for (let i = 0; i < 600; i++) {
			r = (await s.api("GET", `/api/v1/projects/ART/workflows/art/runs/${n}`)).body;
			if (FINAL.has(r.status)) break;
			await new Promise((res) => setTimeout(res, 100));
		}
		const logs = (await s.api("GET", `/api/v1/projects/ART/workflows/art/runs/${n}/logs?limit=5000`)).body
			.items;
		const text = logs.map((l: { text: string }) => l.text).join("");
		assert.equal(r.status, "Success", text);
		assert.match(text, /all-sums-match/);
		assert.deepEqual(calls.sort(), ["get", "get", "get", "put", "put", "put"]);
		let blobs = 0;
		for await (const b of store.list()) if (b.project === "ART") blobs++;
		assert.equal(blobs, 3);
	});
});
const keystone = serverUrl("KEYSTONE_URL");
suite("keystone", keystone.skip);
