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

export interface ArtifactStore {
	readonly kind: "filesystem" | "gridfs";
	/** Streams `source` in, refusing more than `maxBytes`; checks `expectedSha256` when given. */
	put(source: Readable, options: { maxBytes: number; expectedSha256?: string }): Promise<BlobInfo>;
	/** A readable of the blob, or null when absent. */
	get(sha256: string): Promise<Readable | null>;
	has(sha256: string): Promise<boolean>;
	delete(sha256: string): Promise<void>;
	/** Every stored blob, for garbage collection. */
	list(): AsyncIterable<string>;
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
