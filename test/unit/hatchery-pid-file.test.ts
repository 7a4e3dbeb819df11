// The local hatchery's record of its workers, rewritten in place (src/hatchery/pid-file.ts).

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { PidFile } from "../../src/hatchery/pid-file.ts";

const isRecord = (r: unknown): r is { pid: number } =>
	typeof r === "object" && r !== null && Number.isInteger((r as { pid: number }).pid);

test("each write replaces the records, a shorter one included, and a new instance reads the last", () => {
	const dir = mkdtempSync(path.join(tmpdir(), "cds-pidfile-"));
	try {
		const file = new PidFile(path.join(dir, "h.pids"));
		assert.deepEqual(file.read(isRecord), [], "no file yet");
		file.write([{ pid: 101 }, { pid: 102 }, { pid: 103 }]);
		file.write([{ pid: 7 }]);
		assert.deepEqual(new PidFile(file.path).read(isRecord), [{ pid: 7 }]);
		// Padded, never followed by what the longer record left.
		assert.match(readFileSync(file.path, "utf8"), /^\[\{"pid":7\}\] +$/);
		file.write([]);
		assert.deepEqual(new PidFile(file.path).read(isRecord), []);
		// Many short writes after a long one give the padding back.
		file.write(Array.from({ length: 500 }, (_, i) => ({ pid: i + 1 })));
		file.write([{ pid: 1 }]);
		assert.ok(readFileSync(file.path).length < 100);
		file.close();
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
});
