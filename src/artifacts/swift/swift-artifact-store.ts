// Artifact, cache and report blobs in OpenStack Swift, one container per project
// (`<prefix><PROJECT>`; blobs of no project — plugin binaries — in `<prefix>_global`):
//   blobs/<sha256>            the blob (an SLO manifest over segments/… above the segment size)
//   segments/<id>/<n>         the segments of one SLO blob, deleted with it
//   uploads/<id>              a worker's upload by TempURL, not addressable by hash yet
//   uploads/<id>/<n>          the same for a file above one segment: one object per segment
//   verify/<id>               the server's own copy of an upload while it checks it
// A worker never writes under a hash: it PUTs to uploads/<id>; `commitUpload` copies that
// object to verify/<id> (a name no TempURL reaches, so the bytes cannot change under the check),
// reads it back through SHA-256 and the size cap, and only then copies it to blobs/<sha256>.
// Above one segment the worker PUTs uploads/<id>/<n>; the commit copies each to
// segments/<id>/<n> (the server's own names, again beyond any TempURL), reads them back in
// order, and on a match writes the SLO manifest blobs/<sha256> over them — no second copy.
// Segments carry X-Delete-After until their manifest exists (API uploads too), so those of a
// commit or upload that died halfway expire. Stale uploads/ and verify/ objects, and segments
// still expiring, are removed by `collectStale` too.

import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import {
	type ArtifactStore,
	type BlobInfo,
	BlobTooLargeError,
	ChecksumMismatchError,
	meter,
	type PresignedUrl,
	type PresignRequest,
	SHA256_PATTERN,
	type StoredBlob,
	UploadRejectedError,
} from "../artifact-store.ts";
import { type ObjectListing, objectPath, SwiftError, SwiftObjectClient } from "./object-client.ts";
import type { SwiftAuth } from "./auth.ts";
import { type SloSegment, segmentsOf } from "./segments.ts";
import { chooseDigest, signTempUrl, type TempUrlDigest } from "./tempurl.ts";

export const GLOBAL_CONTAINER_SUFFIX = "_global";
/** How long an upload object outlives its TempURL before Swift expires it. */
export const UPLOAD_GRACE_SECONDS = 3600;

export interface SwiftStoreOptions {
	auth: SwiftAuth;
	/** The integration model's `storage_container_prefix`. */
	containerPrefix: string;
	/** Above this a blob is an SLO of segments this large; presigned uploads go up to it. */
	segmentBytes: number;
	/** TempURLs for workers (the account's key is set when none is); off: bytes go through the API. */
	tempUrls: boolean;
	log?: { info(msg: string): void; warn(msg: string): void };
}

export class SwiftArtifactStore implements ArtifactStore {
	readonly kind = "swift" as const;
	readonly client: SwiftObjectClient;
	private readonly o: SwiftStoreOptions;
	private readonly containers = new Set<string>();
	private signing?: Promise<{ key: string; digest: TempUrlDigest }>;
	private capabilities?: Promise<Record<string, unknown>>;
	presign?: (request: PresignRequest) => Promise<PresignedUrl>;
	commitUpload?: ArtifactStore["commitUpload"];

	constructor(o: SwiftStoreOptions) {
		this.o = o;
		this.client = new SwiftObjectClient(o.auth);
		if (o.tempUrls) {
			this.presign = (r) => this.sign(r);
			this.commitUpload = (u) => this.commit(u);
		}
	}

	containerOf(project: string | undefined): string {
		return `${this.o.containerPrefix}${project ?? GLOBAL_CONTAINER_SUFFIX}`;
	}

	private async ensureContainer(container: string): Promise<void> {
		if (this.containers.has(container)) return;
		await this.client.call("PUT", objectPath(container));
		this.containers.add(container);
	}

	async put(
		source: Readable,
		options: { maxBytes: number; expectedSha256?: string; project?: string },
	): Promise<BlobInfo> {
		const container = this.containerOf(options.project);
		await this.ensureContainer(container);
		const metered = meter(options.maxBytes);
		source.on("error", (e) => metered.stream.destroy(e));
		const id = randomBytes(12).toString("hex");
		const segments: SloSegment[] = [];
		let first: Buffer | undefined;
		let maxSegments = Number.POSITIVE_INFINITY;
		try {
			for await (const segment of segmentsOf(source.pipe(metered.stream), this.o.segmentBytes)) {
				if (segments.length === 0 && first === undefined) {
					first = segment; // one segment only, perhaps: it waits to see whether another follows
					continue;
				}
				if (first !== undefined) {
					maxSegments = await this.requireSlo();
					segments.push(await this.putSegment(container, id, 0, first));
					first = undefined;
				}
				if (segments.length >= maxSegments)
					throw new SwiftError(
						`a blob above ${maxSegments} segments of ${this.o.segmentBytes} bytes (the cluster's slo.max_manifest_segments) cannot be stored: raise CDS_SWIFT_SEGMENT_BYTES`,
						413,
					);
				segments.push(await this.putSegment(container, id, segments.length, segment));
			}
			const info = metered.result();
			if (options.expectedSha256 && options.expectedSha256 !== info.sha256)
				throw new ChecksumMismatchError(options.expectedSha256, info.sha256);
			const blob = objectPath(container, `blobs/${info.sha256}`);
			if (await this.has(info.sha256, options)) {
				await this.deleteSegments(container, segments);
				return info;
			}
			if (segments.length === 0) {
				await this.client.call("PUT", blob, { body: first ?? Buffer.alloc(0) });
			} else {
				await this.putManifest(container, info.sha256, segments);
			}
			return info;
		} catch (e) {
			await this.deleteSegments(container, segments).catch(() => {});
			throw e;
		}
	}

	/** Without the slo middleware a manifest would be stored as a plain JSON object: refuse first. */
	private async requireSlo(): Promise<number> {
		this.capabilities ??= this.client.info().catch((e) => {
			this.capabilities = undefined;
			throw e;
		});
		const slo = (await this.capabilities).slo as { max_manifest_segments?: number } | undefined;
		if (!slo)
			throw new SwiftError(
				`the Swift cluster has no slo middleware (no "slo" in /info): a blob above CDS_SWIFT_SEGMENT_BYTES (${this.o.segmentBytes}) cannot be stored`,
				501,
			);
		return slo.max_manifest_segments ?? 1000;
	}

	/**
	 * The manifest `blobs/<sha256>` over `segments`, once they no longer expire (a crash between
	 * the two leaves segments that never expire: the price of never having a manifest over
	 * segments that will).
	 */
	private async putManifest(container: string, sha256: string, segments: SloSegment[]): Promise<void> {
		for (const s of segments)
			await this.client.call("POST", objectPath(container, s.path.slice(container.length + 2)), {
				headers: { "X-Remove-Delete-At": "1" },
			});
		await this.client.call("PUT", objectPath(container, `blobs/${sha256}`), {
			query: "multipart-manifest=put",
			headers: { "Content-Type": "application/json" },
			body: JSON.stringify(segments),
		});
	}

	private async putSegment(container: string, id: string, n: number, body: Buffer): Promise<SloSegment> {
		const name = `segments/${id}/${partName(n)}`;
		const res = await this.client.call("PUT", objectPath(container, name), {
			body,
			headers: { "X-Delete-After": String(UPLOAD_GRACE_SECONDS) },
		});
		return {
			path: `/${container}/${name}`,
			etag: (res.headers.get("etag") ?? "").replace(/"/g, ""),
			size_bytes: body.length,
		};
	}

	private async deleteSegments(container: string, segments: SloSegment[]): Promise<void> {
		for (const s of segments)
			await this.client.call("DELETE", objectPath(container, s.path.slice(container.length + 2)), {
				accept: [404],
			});
	}

	async get(sha256: string, where: { project?: string } = {}): Promise<Readable | null> {
		if (!SHA256_PATTERN.test(sha256)) return null;
		const res = await this.client.request(
			"GET",
			objectPath(this.containerOf(where.project), `blobs/${sha256}`),
			{
				accept: [404],
			},
		);
		if (res.status === 404 || !res.body) {
			await res.arrayBuffer();
			return null;
		}
		return Readable.fromWeb(res.body as import("node:stream/web").ReadableStream);
	}

	async has(sha256: string, where: { project?: string } = {}): Promise<boolean> {
		if (!SHA256_PATTERN.test(sha256)) return false;
		const res = await this.client.call(
			"HEAD",
			objectPath(this.containerOf(where.project), `blobs/${sha256}`),
			{
				accept: [404],
			},
		);
		return res.status !== 404;
	}

	async delete(sha256: string, where: { project?: string } = {}): Promise<void> {
		if (!SHA256_PATTERN.test(sha256)) return;
		const path = objectPath(this.containerOf(where.project), `blobs/${sha256}`);
		const head = await this.client.call("HEAD", path, { query: "multipart-manifest=get", accept: [404] });
		if (head.status === 404) return;
		// An SLO goes with its segments; a plain object is a plain DELETE (SLO's refuses one).
		const slo = head.headers.get("x-static-large-object") === "True";
		await this.client.call("DELETE", path, {
			query: slo ? "multipart-manifest=delete" : undefined,
			accept: [404],
		});
	}

	async *list(): AsyncIterable<StoredBlob> {
		for await (const container of this.client.containers(this.o.containerPrefix)) {
			const rest = container.slice(this.o.containerPrefix.length);
			const project = rest === GLOBAL_CONTAINER_SUFFIX ? undefined : rest;
			for await (const o of this.client.list(container, "blobs/")) {
				const sha256 = o.name.slice("blobs/".length);
				if (SHA256_PATTERN.test(sha256)) yield project === undefined ? { sha256 } : { sha256, project };
			}
		}
	}

	/**
	 * Upload and verification objects older than `maxAgeMs` (their TempURL long expired) go, and
	 * so do the segments of an upload or commit that died before its manifest: a group
	 * `segments/<id>/` older than that whose first segment still expires (or has expired).
	 */
	async collectStale(maxAgeMs: number, now = Date.now()): Promise<number> {
		let removed = 0;
		const old = (o: ObjectListing) => {
			const modified = Date.parse(`${o.last_modified}Z`);
			return !Number.isFinite(modified) || now - modified >= maxAgeMs;
		};
		for await (const container of this.client.containers(this.o.containerPrefix)) {
			for (const prefix of ["uploads/", "verify/"]) {
				for await (const o of this.client.list(container, prefix)) {
					if (!old(o)) continue;
					await this.client.call("DELETE", objectPath(container, o.name), { accept: [404] });
					removed++;
				}
			}
			let group: ObjectListing[] = [];
			const sweep = async () => {
				if (group.length === 0 || !group.every(old)) return;
				const first = await this.client.call("HEAD", objectPath(container, group[0]!.name), {
					accept: [404],
				});
				if (first.status !== 404 && !first.headers.get("x-delete-at")) return; // a blob's
				for (const o of group) {
					await this.client.call("DELETE", objectPath(container, o.name), { accept: [404] });
					removed++;
				}
			};
			for await (const o of this.client.list(container, "segments/")) {
				const id = o.name.split("/")[1];
				if (group.length > 0 && group[0]!.name.split("/")[1] !== id) {
					await sweep();
					group = [];
				}
				group.push(o);
			}
			await sweep();
		}
		return removed;
	}

	/** The account's TempURL key (set when it has none) and the digest /info allows. */
	private signingKey(): Promise<{ key: string; digest: TempUrlDigest }> {
		this.signing ??= (async () => {
			this.capabilities ??= this.client.info();
			const digest = chooseDigest(await this.capabilities);
			const read = async () =>
				(await this.client.call("HEAD", "")).headers.get("x-account-meta-temp-url-key");
			let key = await read();
			if (!key) {
				await this.client.call("POST", "", {
					headers: { "X-Account-Meta-Temp-URL-Key": randomBytes(32).toString("hex") },
				});
				// Two nodes may set one each at once: both adopt whichever the account kept.
				key = await read();
				this.o.log?.info("set the Swift account's TempURL key (X-Account-Meta-Temp-URL-Key)");
			}
			if (!key) throw new SwiftError("the Swift account keeps no TempURL key", 500);
			return { key, digest };
		})().catch((e) => {
			this.signing = undefined;
			throw e;
		});
		return this.signing;
	}

	private async sign(r: PresignRequest): Promise<PresignedUrl> {
		const { key, digest } = await this.signingKey();
		const container = this.containerOf(r.project);
		const expires = Math.floor(Date.now() / 1000) + r.expiresInSeconds;
		if (r.method === "GET") {
			if (!SHA256_PATTERN.test(r.sha256)) throw new Error(`not a sha256: ${r.sha256}`);
			const url = await this.client.url(objectPath(container, `blobs/${r.sha256}`));
			return {
				method: "GET",
				url: signTempUrl(url, key, "GET", expires, digest),
				headers: {},
				expiresAt: expires * 1000,
			};
		}
		if (r.size === undefined) throw new UploadRejectedError("a direct upload announces its size");
		const seg = this.o.segmentBytes;
		if (r.size > seg && !r.parts)
			throw new UploadRejectedError(
				`a direct upload in one part takes at most ${seg} bytes (one Swift segment)`,
			);
		const count = Math.ceil(r.size / seg);
		if (r.size > seg) {
			const max = await this.requireSlo().catch((e: Error) => {
				throw new UploadRejectedError(e.message);
			});
			if (count > max)
				throw new UploadRejectedError(
					`a blob above ${max} segments of ${seg} bytes (the cluster's slo.max_manifest_segments) cannot be stored: raise CDS_SWIFT_SEGMENT_BYTES`,
				);
		}
		await this.ensureContainer(container);
		const uploadId = randomBytes(16).toString("hex");
		const headers = { "X-Delete-After": String(r.expiresInSeconds + UPLOAD_GRACE_SECONDS) };
		const signed = async (object: string) =>
			signTempUrl(await this.client.url(objectPath(container, object)), key, "PUT", expires, digest);
		if (r.size <= seg)
			return {
				method: "PUT",
				url: await signed(`uploads/${uploadId}`),
				headers,
				expiresAt: expires * 1000,
				uploadId,
			};
		const parts: { url: string; size: number }[] = [];
		for (let n = 0; n < count; n++)
			parts.push({
				url: await signed(`uploads/${uploadId}/${partName(n)}`),
				size: Math.min(seg, r.size - n * seg),
			});
		return { method: "PUT", url: parts[0]!.url, headers, expiresAt: expires * 1000, uploadId, parts };
	}

	private async commit(u: {
		uploadId: string;
		sha256: string;
		size: number;
		maxBytes: number;
		project?: string;
	}): Promise<BlobInfo> {
		if (!/^[a-f0-9]{32}$/.test(u.uploadId)) throw new UploadRejectedError(`no upload ${u.uploadId}`);
		if (!SHA256_PATTERN.test(u.sha256)) throw new UploadRejectedError(`not a sha256: ${u.sha256}`);
		const container = this.containerOf(u.project);
		if (u.size > this.o.segmentBytes) return this.commitParts(container, u);
		const upload = objectPath(container, `uploads/${u.uploadId}`);
		const verify = objectPath(container, `verify/${u.uploadId}`);
		// The server's own copy first: the worker's TempURL may still PUT to uploads/<id>.
		const copied = await this.client.call("PUT", verify, {
			headers: {
				"X-Copy-From": `/${container}/uploads/${u.uploadId}`,
				"X-Fresh-Metadata": "true",
				"X-Delete-After": String(UPLOAD_GRACE_SECONDS),
			},
			body: "",
			accept: [404],
		});
		await this.client.call("DELETE", upload, { accept: [404] });
		if (copied.status === 404) throw new UploadRejectedError(`upload ${u.uploadId} has not arrived in Swift`);
		try {
			const res = await this.client.request("GET", verify);
			const length = Number(res.headers.get("content-length"));
			if (length !== u.size || length > u.maxBytes) {
				await res.body?.cancel();
				if (length > u.maxBytes) throw new BlobTooLargeError(u.maxBytes);
				throw new UploadRejectedError(
					`upload ${u.uploadId} holds ${length} bytes, not the ${u.size} announced`,
				);
			}
			const metered = meter(u.maxBytes);
			for await (const _ of Readable.fromWeb(res.body as import("node:stream/web").ReadableStream).pipe(
				metered.stream,
			)) {
				// hashing only
			}
			const info = metered.result();
			if (info.sha256 !== u.sha256) throw new ChecksumMismatchError(u.sha256, info.sha256);
			if (!(await this.has(info.sha256, u)))
				await this.client.call("PUT", objectPath(container, `blobs/${info.sha256}`), {
					headers: {
						"X-Copy-From": `/${container}/verify/${u.uploadId}`,
						"X-Fresh-Metadata": "true",
					},
					body: "",
				});
			return info;
		} finally {
			await this.client.call("DELETE", verify, { accept: [404] }).catch(() => {});
		}
	}

	/**
	 * A direct upload in parts: each `uploads/<id>/<n>` is copied to `segments/<id>/<n>` (frozen:
	 * no TempURL reaches that name) and deleted; the segments are read back in order through the
	 * SHA-256 (each of the exact size the presign announced, so the total is the size claimed);
	 * on a match the manifest `blobs/<sha256>` is written over them. Any failure deletes them.
	 */
	private async commitParts(
		container: string,
		u: { uploadId: string; sha256: string; size: number; maxBytes: number; project?: string },
	): Promise<BlobInfo> {
		const seg = this.o.segmentBytes;
		const count = Math.ceil(u.size / seg);
		const sizeOf = (n: number) => Math.min(seg, u.size - n * seg);
		const frozen: SloSegment[] = [];
		let kept = false;
		try {
			let missing: number | undefined;
			for (let n = 0; n < count; n++) {
				const name = `segments/${u.uploadId}/${partName(n)}`;
				const copied = await this.client.call("PUT", objectPath(container, name), {
					headers: {
						"X-Copy-From": `/${container}/uploads/${u.uploadId}/${partName(n)}`,
						"X-Fresh-Metadata": "true",
						"X-Delete-After": String(UPLOAD_GRACE_SECONDS),
					},
					body: "",
					accept: [404],
				});
				await this.client.call("DELETE", objectPath(container, `uploads/${u.uploadId}/${partName(n)}`), {
					accept: [404],
				});
				if (copied.status === 404) missing ??= n;
				else frozen.push({ path: `/${container}/${name}`, etag: "", size_bytes: sizeOf(n) });
			}
			if (missing !== undefined)
				throw new UploadRejectedError(`upload ${u.uploadId} part ${missing} has not arrived in Swift`);
			if (u.size > u.maxBytes) throw new BlobTooLargeError(u.maxBytes);
			const hash = createHash("sha256");
			for (const [n, s] of frozen.entries()) {
				const res = await this.client.request(
					"GET",
					objectPath(container, s.path.slice(container.length + 2)),
				);
				const length = Number(res.headers.get("content-length"));
				if (length !== s.size_bytes) {
					await res.body?.cancel();
					throw new UploadRejectedError(
						`upload ${u.uploadId} part ${n} holds ${length} bytes, not the ${s.size_bytes} announced`,
					);
				}
				let read = 0;
				for await (const chunk of Readable.fromWeb(res.body as import("node:stream/web").ReadableStream)) {
					read += (chunk as Buffer).length;
					hash.update(chunk as Buffer);
				}
				if (read !== s.size_bytes)
					throw new UploadRejectedError(`upload ${u.uploadId} part ${n}: ${read} bytes read back`);
				s.etag = (res.headers.get("etag") ?? "").replace(/"/g, "");
			}
			const info = { sha256: hash.digest("hex"), size: u.size };
			if (info.sha256 !== u.sha256) throw new ChecksumMismatchError(u.sha256, info.sha256);
			if (await this.has(info.sha256, u)) return info;
			await this.putManifest(container, info.sha256, frozen);
			kept = true;
			return info;
		} finally {
			if (!kept) await this.deleteSegments(container, frozen).catch(() => {});
		}
	}
}

/** Segment and part names sort in their order. */
function partName(n: number): string {
	return String(n).padStart(6, "0");
}
