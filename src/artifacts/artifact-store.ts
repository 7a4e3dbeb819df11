// Content-addressed blob storage for artifacts, caches and report files. Blobs are keyed
// by their SHA-256, so an identical file uploaded twice is stored once, and what a
// worker downloads is verifiably what was uploaded. Metadata (run, tag, name → sha256)
// lives in the store; this module only moves bytes.

import { createHash } from "node:crypto";
import { type Readable, Transform } from "node:stream";

export interface BlobInfo {
	sha256: string;
	size: number;
}

/**
 * Where a blob belongs: the project whose references hold it (artifacts, caches and reports of
 * its runs), none for a blob of the whole installation (plugin binaries). Stores that keep
 * blobs per project (Swift: a container each) need it; the filesystem and GridFS ignore it,
 * so one blob there may serve several projects.
 */
export interface BlobPlace {
	project?: string;
}

/** A blob as `list()` gives it: with its project when the store keeps blobs per project. */
export interface StoredBlob extends BlobPlace {
	sha256: string;
}

/**
 * What a worker asks to move one blob directly to or from the store. A download names the
 * blob; an upload names the hash and size it claims, and gets a URL to a per-upload object,
 * never to that hash: the blob becomes addressable only through `commitUpload`, which checks.
 */
export interface PresignRequest extends BlobPlace {
	method: "GET" | "PUT";
	/** GET: the blob. PUT: the hash the worker claims (checked by `commitUpload`, not trusted). */
	sha256: string;
	/** PUT: the size the worker announces (checked by `commitUpload`). */
	size?: number;
	/**
	 * PUT: the worker can send a file as several parts, one URL each (`PresignedUrl.parts`);
	 * without it a store signs one URL or none.
	 */
	parts?: boolean;
	expiresInSeconds: number;
}

export interface PresignedUrl {
	method: "GET" | "PUT";
	url: string;
	/** Headers the request must carry (an expiry for the upload object…). */
	headers: Record<string, string>;
	expiresAt: number;
	/** PUT: the upload to hand to `commitUpload` once the bytes are sent. */
	uploadId?: string;
	/**
	 * PUT of a file above one segment (when the request allowed `parts`): the file's consecutive
	 * byte ranges, in order, each PUT to its own URL with `headers`; `url` is then the first's.
	 */
	parts?: { url: string; size: number }[];
}

export interface ArtifactStore {
	/** The registry name (src/artifacts/index.ts): `filesystem`, `gridfs`… */
	readonly kind: string;
	/** Streams `source` in, refusing more than `maxBytes`; checks `expectedSha256` when given. */
	put(
		source: Readable,
		options: { maxBytes: number; expectedSha256?: string } & BlobPlace,
	): Promise<BlobInfo>;
	/** A readable of the blob, or null when absent. */
	get(sha256: string, where?: BlobPlace): Promise<Readable | null>;
	has(sha256: string, where?: BlobPlace): Promise<boolean>;
	delete(sha256: string, where?: BlobPlace): Promise<void>;
	/** Every stored blob, for garbage collection. */
	list(): AsyncIterable<StoredBlob>;
	/**
	 * Optional: a short-lived URL with which a worker uploads or downloads one blob itself,
	 * so large files do not flow through the API nodes (object stores such as Swift or S3 can
	 * sign one; the filesystem and GridFS stores cannot, and then the API streams the bytes).
	 * A PUT URL names a per-upload object (`uploadId`), never a hash: the worker then asks the
	 * API to commit it, and `commitUpload` checks it before it becomes the blob; the API records
	 * the reference (run, tag, name → sha256) after that. Throws `UploadRejectedError` for an
	 * upload it will not sign (the worker then streams through the API).
	 */
	presign?(request: PresignRequest): Promise<PresignedUrl>;
	/**
	 * With `presign`: makes an upload addressable by its hash once the store has checked its
	 * size and SHA-256 against what the worker claimed (a mismatch removes it and throws
	 * `ChecksumMismatchError`, `BlobTooLargeError` or `UploadRejectedError`).
	 */
	commitUpload?(
		upload: { uploadId: string; sha256: string; size: number; maxBytes: number } & BlobPlace,
	): Promise<BlobInfo>;
	/** Optional: removes upload leftovers older than `maxAgeMs` (garbage collection); how many went. */
	collectStale?(maxAgeMs: number): Promise<number>;
}

export class BlobTooLargeError extends Error {
	constructor(maxBytes: number) {
		super(`file larger than the limit of ${maxBytes} bytes`);
		this.name = "BlobTooLargeError";
	}
}

export class ChecksumMismatchError extends Error {
	constructor(expected: string, actual: string) {
		super(`checksum mismatch: expected sha256 ${expected}, received ${actual}`);
		this.name = "ChecksumMismatchError";
	}
}

/** A presigned upload the store will not take (unknown, not arrived, wrong size, too large to presign). */
export class UploadRejectedError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "UploadRejectedError";
	}
}

export const SHA256_PATTERN = /^[a-f0-9]{64}$/;

/**
 * A pass-through stream that hashes what crosses it and refuses more than `maxBytes`: both
 * stores put uploads through one, so the size cap and the checksum are the same everywhere.
 */
export function meter(maxBytes: number): { stream: Transform; result(): BlobInfo } {
	const hash = createHash("sha256");
	let size = 0;
	const stream = new Transform({
		transform(chunk: Buffer, _enc, done) {
			size += chunk.length;
			if (size > maxBytes) return done(new BlobTooLargeError(maxBytes));
			hash.update(chunk);
			done(null, chunk);
		},
	});
	return { stream, result: () => ({ sha256: hash.digest("hex"), size }) };
}
