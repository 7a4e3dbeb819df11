// Artifact blobs on the local filesystem: <dir>/<aa>/<sha256>. Written to a temporary
// file first and renamed into place, so a reader never sees a half-written blob.

import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
	type ArtifactStore,
	type BlobInfo,
	meter,
	ChecksumMismatchError,
	SHA256_PATTERN,
	type StoredBlob,
} from "./artifact-store.ts";

export class FsArtifactStore implements ArtifactStore {
	readonly kind = "filesystem" as const;
	private readonly dir: string;

	constructor(dir: string) {
		this.dir = dir;
	}

	private blobPath(sha256: string): string {
		if (!SHA256_PATTERN.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
		return path.join(this.dir, sha256.slice(0, 2), sha256);
	}

	async put(source: Readable, options: { maxBytes: number; expectedSha256?: string }): Promise<BlobInfo> {
		await mkdir(path.join(this.dir, "tmp"), { recursive: true });
		const tmp = path.join(this.dir, "tmp", `${Date.now()}-${randomBytes(6).toString("hex")}`);
		const metered = meter(options.maxBytes);
		try {
			await pipeline(source, metered.stream, createWriteStream(tmp, { mode: 0o600 }));
			const { sha256, size } = metered.result();
			if (options.expectedSha256 && options.expectedSha256 !== sha256) {
				throw new ChecksumMismatchError(options.expectedSha256, sha256);
			}
			const target = this.blobPath(sha256);
			await mkdir(path.dirname(target), { recursive: true });
			await rename(tmp, target);
			return { sha256, size };
		} finally {
			await rm(tmp, { force: true });
		}
	}

	async get(sha256: string): Promise<Readable | null> {
		if (!(await this.has(sha256))) return null;
		return createReadStream(this.blobPath(sha256));
	}

	async has(sha256: string): Promise<boolean> {
		try {
			return (await stat(this.blobPath(sha256))).isFile();
		} catch {
			return false;
		}
	}

	async delete(sha256: string): Promise<void> {
		await rm(this.blobPath(sha256), { force: true });
	}

	async *list(): AsyncIterable<StoredBlob> {
		let prefixes: string[];
		try {
			prefixes = await readdir(this.dir);
		} catch {
			return;
		}
		for (const prefix of prefixes) {
			if (!/^[a-f0-9]{2}$/.test(prefix)) continue;
			for (const name of await readdir(path.join(this.dir, prefix)))
				if (SHA256_PATTERN.test(name)) yield { sha256: name };
		}
	}
}
