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

/** What a worker asks to move one blob directly to or from the store. */
export interface PresignRequest {
	method: "GET" | "PUT";
	/** The blob: known before an upload too, since blobs are content-addressed. */
	sha256: string;
	/** For an upload: the exact size the URL admits (the store enforces it, not the API). */
	size?: number;
	expiresInSeconds: number;
}

export interface PresignedUrl {
	method: "GET" | "PUT";
	url: string;
	/** Headers the request must carry (a checksum, a content length…). */
	headers: Record<string, string>;
	expiresAt: number;
}

export interface ArtifactStore {
	/** The registry name (src/artifacts/index.ts): `filesystem`, `gridfs`… */
	readonly kind: string;
	/** Streams `source` in, refusing more than `maxBytes`; checks `expectedSha256` when given. */
	put(source: Readable, options: { maxBytes: number; expectedSha256?: string }): Promise<BlobInfo>;
	/** A readable of the blob, or null when absent. */
	get(sha256: string): Promise<Readable | null>;
	has(sha256: string): Promise<boolean>;
	delete(sha256: string): Promise<void>;
	/** Every stored blob, for garbage collection. */
	list(): AsyncIterable<string>;
	/**
	 * Optional: a short-lived URL with which a worker uploads or downloads one blob itself,
	 * so large files do not flow through the API nodes (object stores such as Swift or S3 can
	 * sign one; the filesystem and GridFS stores cannot, and then the API streams the bytes).
	 * The API still records the reference (run, tag, name → sha256) after an upload, and
	 * checks with `has` that the blob arrived.
	 */
	presign?(request: PresignRequest): Promise<PresignedUrl>;
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
