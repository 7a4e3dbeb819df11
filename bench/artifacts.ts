// `npm run bench:artifacts`: MB/s of one artifact (BENCH_ARTIFACT_MB, 64) stored and read back
// through the filesystem store and the Swift store — the API streaming into Swift (a Static
// Large Object above CDS_SWIFT_SEGMENT_BYTES' default, 32 MiB), and a worker's direct transfer
// by TempURL (PUT, then the commit: Swift copies the upload aside, the server reads it back
// through SHA-256, and Swift copies it to its hash; GET by TempURL), and the same above one
// segment (16 MiB): one TempURL PUT per part, three at once as the worker does, then the commit
// (Swift copies each part aside, the server reads them back, then writes the SLO manifest over
// them; GET of the SLO by TempURL). Bytes come from memory and
// go to a sink, so the figures are the stores', not a disk's. Best of BENCH_ARTIFACT_ROUNDS (3).
// Needs SWIFT_URL, SWIFT_USER, SWIFT_KEY (test/tools/start-swift.sh). Prints one JSON document.

import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { hostEnv } from "../config/process-env.ts";
import type { ArtifactStore } from "../src/artifacts/artifact-store.ts";
import { FsArtifactStore } from "../src/artifacts/fs-artifact-store.ts";
import { SwiftArtifactStore } from "../src/artifacts/swift/swift-artifact-store.ts";
import { tempAuth } from "../src/artifacts/swift/tempauth.ts";

const env = hostEnv();
const MB = Number(env.BENCH_ARTIFACT_MB ?? 64);
const ROUNDS = Number(env.BENCH_ARTIFACT_ROUNDS ?? 3);
const data = randomBytes(MB * 1024 * 1024);
const sha256 = createHash("sha256").update(data).digest("hex");

function source(): Readable {
	const chunk = 1024 * 1024;
	return Readable.from(
		(function* () {
			for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
		})(),
	);
}

async function drain(r: Readable | NodeJS.ReadableStream): Promise<number> {
	let n = 0;
	await pipeline(
		r,
		new Writable({
			write(c: Buffer, _e, done) {
				n += c.length;
				done();
			},
		}),
	);
	return n;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
	const t = performance.now();
	await fn();
	return (performance.now() - t) / 1000;
}

const rate = (seconds: number) => Math.round((MB / seconds) * 10) / 10;

async function throughStore(store: ArtifactStore, project?: string) {
	let up = Infinity;
	let down = Infinity;
	for (let i = 0; i < ROUNDS; i++) {
		await store.delete(sha256, { project });
		up = Math.min(up, await timed(() => store.put(source(), { maxBytes: data.length, project })));
		down = Math.min(
			down,
			await timed(async () => {
				if ((await drain((await store.get(sha256, { project }))!)) !== data.length)
					throw new Error("short read");
			}),
		);
	}
	await store.delete(sha256, { project });
	return { uploadMBps: rate(up), downloadMBps: rate(down) };
}

async function byTempUrl(store: SwiftArtifactStore) {
	let up = Infinity;
	let down = Infinity;
	for (let i = 0; i < ROUNDS; i++) {
		await store.delete(sha256, { project: "BENCH" });
		up = Math.min(
			up,
			await timed(async () => {
				const p = await store.presign!({
					method: "PUT",
					sha256,
					size: data.length,
					parts: true,
					project: "BENCH",
					expiresInSeconds: 600,
				});
				const put = async (url: string, body: Buffer) => {
					const res = await fetch(url, { method: "PUT", headers: p.headers, body });
					await res.arrayBuffer();
					if (res.status !== 201) throw new Error(`TempURL PUT: HTTP ${res.status}`);
				};
				if (!p.parts) await put(p.url, data);
				else {
					const parts = p.parts.map((part, i) => ({ ...part, start: i * p.parts![0]!.size }));
					const lane = async () => {
						for (let part = parts.shift(); part; part = parts.shift())
							await put(part.url, data.subarray(part.start, part.start + part.size));
					};
					await Promise.all([lane(), lane(), lane()]);
				}
				await store.commitUpload!({
					uploadId: p.uploadId!,
					sha256,
					size: data.length,
					maxBytes: data.length,
					project: "BENCH",
				});
			}),
		);
		down = Math.min(
			down,
			await timed(async () => {
				const p = await store.presign!({ method: "GET", sha256, project: "BENCH", expiresInSeconds: 600 });
				const res = await fetch(p.url);
				if ((await drain(Readable.fromWeb(res.body as never))) !== data.length) throw new Error("short read");
			}),
		);
	}
	await store.delete(sha256, { project: "BENCH" });
	return { uploadMBps: rate(up), downloadMBps: rate(down) };
}

async function main() {
	if (!env.SWIFT_URL)
		throw new Error('SWIFT_URL is not set: eval "$(bash test/tools/start-swift.sh DIR)" first');
	const dir = mkdtempSync(path.join(tmpdir(), "cds-bench-artifacts-"));
	const prefix = `bench${randomBytes(3).toString("hex")}-`;
	const auth = () => tempAuth(`${env.SWIFT_URL}/auth/v1.0`, env.SWIFT_USER!, env.SWIFT_KEY!);
	try {
		const filesystem = await throughStore(new FsArtifactStore(dir));
		const segmented = new SwiftArtifactStore({
			auth: auth(),
			containerPrefix: prefix,
			segmentBytes: 32 * 1024 ** 2,
			tempUrls: true,
		});
		const swiftApi = await throughStore(segmented, "BENCH");
		// One segment holds the whole file: the largest a worker uploads directly.
		const whole = new SwiftArtifactStore({
			auth: auth(),
			containerPrefix: prefix,
			segmentBytes: data.length,
			tempUrls: true,
		});
		const swiftSingle = await throughStore(whole, "BENCH");
		const swiftTempUrl = await byTempUrl(whole);
		const parts16 = new SwiftArtifactStore({
			auth: auth(),
			containerPrefix: prefix,
			segmentBytes: 16 * 1024 ** 2,
			tempUrls: true,
		});
		const swiftTempUrlParts = await byTempUrl(parts16);
		console.log(
			JSON.stringify(
				{
					bench: "artifacts",
					sizeMB: MB,
					rounds: ROUNDS,
					filesystem,
					swiftThroughApiSlo32MiB: swiftApi,
					swiftThroughApiOneObject: swiftSingle,
					swiftTempUrlWithVerifiedCommit: swiftTempUrl,
					swiftTempUrlParts16MiBWithVerifiedCommit: swiftTempUrlParts,
				},
				null,
				2,
			),
		);
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

await main();
