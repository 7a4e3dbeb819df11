// Both artifact stores behave the same: the data directory (embedded) and GridFS on the
// MongoDB-wire server (FerretDB here): content addressing, size cap, checksum, listing.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import {
	BlobTooLargeError,
	ChecksumMismatchError,
	type ArtifactStore,
} from "../../src/artifacts/artifact-store.ts";
import { FsArtifactStore } from "../../src/artifacts/fs-artifact-store.ts";
import { GridFsArtifactStore } from "../../src/artifacts/gridfs-artifact-store.ts";
import { MongoStore } from "../../src/store/index.ts";
import { mongoUrlFor, serverUrl, uniqueDbName } from "../helpers/servers.ts";

async function text(r: Readable | null): Promise<string | null> {
	if (!r) return null;
	const chunks: Buffer[] = [];
	for await (const c of r) chunks.push(Buffer.from(c));
	return Buffer.concat(chunks).toString("utf8");
}

function contract(
	label: string,
	open: () => Promise<{ store: ArtifactStore; close(): Promise<void> }>,
	skip: string | false = false,
) {
	describe(`artifact store: ${label}`, { skip }, () => {
		let store: ArtifactStore;
		let close: () => Promise<void>;
		before(async () => {
			({ store, close } = await open());
		});
		after(async () => close?.());

		test("a blob is stored under its sha256, once, and read back", async () => {
			const content = "hello artifact\n".repeat(1000);
			const sha = createHash("sha256").update(content).digest("hex");
			const first = await store.put(Readable.from([content]), { maxBytes: 1 << 20 });
			assert.deepEqual(first, { sha256: sha, size: content.length });
			const again = await store.put(Readable.from([content]), { maxBytes: 1 << 20, expectedSha256: sha });
			assert.equal(again.sha256, sha);
			assert.equal(await text(await store.get(sha)), content);
			const listed: string[] = [];
			for await (const s of store.list()) listed.push(s.sha256);
			assert.deepEqual(
				listed.filter((s) => s === sha),
				[sha],
				"stored once",
			);
			await store.delete(sha);
			assert.equal(await store.has(sha), false);
			assert.equal(await store.get(sha), null);
		});

		test("too large and wrong checksum are refused, leaving nothing behind", async () => {
			await assert.rejects(
				store.put(Readable.from(["x".repeat(2000)]), { maxBytes: 1000 }),
				BlobTooLargeError,
			);
			await assert.rejects(
				store.put(Readable.from(["abc"]), { maxBytes: 1000, expectedSha256: "0".repeat(64) }),
				ChecksumMismatchError,
			);
			const listed: string[] = [];
			for await (const s of store.list()) listed.push(s.sha256);
			assert.equal(listed.length, 0);
		});
	});
}

contract("filesystem", async () => {
	const dir = mkdtempSync(path.join(tmpdir(), "cds-artifacts-"));
	return {
		store: new FsArtifactStore(dir),
		close: async () => rmSync(dir, { recursive: true, force: true }),
	};
});

const mongo = serverUrl("MONGO_URL");
contract(
	"GridFS",
	async () => {
		const db = await MongoStore.connect(mongoUrlFor(mongo.url!, uniqueDbName("cds_artifacts")));
		return {
			store: new GridFsArtifactStore(db.db),
			close: async () => {
				await db.dropDatabase();
				await db.close();
			},
		};
	},
	mongo.skip,
);
