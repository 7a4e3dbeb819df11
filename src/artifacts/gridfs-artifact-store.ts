// Artifact blobs in MongoDB GridFS, so every node of a cluster sees the same files.
// The blob's file name is its sha256; an upload goes to a temporary name first and is
// renamed once its hash is known (an identical blob already present is kept, the copy dropped).

import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import mongoose from "mongoose";
import {
	type ArtifactStore,
	type BlobInfo,
	meter,
	ChecksumMismatchError,
	SHA256_PATTERN,
	type StoredBlob,
} from "./artifact-store.ts";

export class GridFsArtifactStore implements ArtifactStore {
	readonly kind = "gridfs" as const;
	private readonly bucket: mongoose.mongo.GridFSBucket;

	// The driver that comes with mongoose, so the Db given by the store's connection fits.
	constructor(db: mongoose.mongo.Db, bucketName = "artifacts") {
		this.bucket = new mongoose.mongo.GridFSBucket(db, { bucketName, chunkSizeBytes: 255 * 1024 });
	}

	async put(source: Readable, options: { maxBytes: number; expectedSha256?: string }): Promise<BlobInfo> {
		const metered = meter(options.maxBytes);
		const upload = this.bucket.openUploadStream(`tmp-${Date.now()}-${randomBytes(6).toString("hex")}`);
		try {
			await pipeline(source, metered.stream, upload);
		} catch (e) {
			await this.bucket.delete(upload.id).catch(() => {});
			throw e;
		}
		const { sha256, size } = metered.result();
		if (options.expectedSha256 && options.expectedSha256 !== sha256) {
			await this.bucket.delete(upload.id).catch(() => {});
			throw new ChecksumMismatchError(options.expectedSha256, sha256);
		}
		if (await this.has(sha256)) {
			await this.bucket.delete(upload.id).catch(() => {});
		} else {
			await this.bucket.rename(upload.id, sha256);
		}
		return { sha256, size };
	}

	async get(sha256: string): Promise<Readable | null> {
		if (!SHA256_PATTERN.test(sha256) || !(await this.has(sha256))) return null;
		return this.bucket.openDownloadStreamByName(sha256);
	}

	async has(sha256: string): Promise<boolean> {
		if (!SHA256_PATTERN.test(sha256)) return false;
		return (await this.bucket.find({ filename: sha256 }, { limit: 1 }).toArray()).length > 0;
	}

	async delete(sha256: string): Promise<void> {
		for (const f of await this.bucket.find({ filename: sha256 }).toArray()) await this.bucket.delete(f._id);
	}

	async *list(): AsyncIterable<StoredBlob> {
		for await (const f of this.bucket.find({}))
			if (SHA256_PATTERN.test(f.filename)) yield { sha256: f.filename };
	}
}
