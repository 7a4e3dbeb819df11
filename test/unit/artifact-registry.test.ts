// The artifact store is chosen by name (CDS_ARTIFACT_STORE) through src/artifacts/index.ts.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import { ARTIFACT_STORE_KINDS, createArtifactStore } from "../../src/artifacts/index.ts";

describe("artifact store registry", () => {
	test("knows the filesystem, GridFS and Swift stores", () => {
		assert.deepEqual([...ARTIFACT_STORE_KINDS].sort(), ["filesystem", "gridfs", "swift"]);
	});

	test("filesystem: blobs under <dataDir>/artifacts", async () => {
		const dataDir = mkdtempSync(path.join(tmpdir(), "cds-artifact-registry-"));
		try {
			const store = await createArtifactStore("filesystem", { dataDir });
			assert.equal(store.kind, "filesystem");
			const info = await store.put(Readable.from(["blob"]), { maxBytes: 100 });
			assert.equal(info.sha256, createHash("sha256").update("blob").digest("hex"));
			assert.ok(statSync(path.join(dataDir, "artifacts", info.sha256.slice(0, 2), info.sha256)).isFile());
		} finally {
			rmSync(dataDir, { recursive: true, force: true });
		}
	});

	test("gridfs without a MongoDB database, swift without settings and an unknown name are refused", async () => {
		await assert.rejects(createArtifactStore("gridfs", { dataDir: "/nonexistent" }), /needs MongoDB/);
		await assert.rejects(createArtifactStore("swift", { dataDir: "/nonexistent" }), /needs its settings/);
		await assert.rejects(
			createArtifactStore("s3", { dataDir: "/nonexistent" }),
			/known: filesystem, gridfs, swift/,
		);
	});
});
