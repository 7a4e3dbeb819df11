// The decisions of report.ingest and of vulnerability ignores, without a broker or a store.
import assert from "node:assert/strict";
import path from "node:path";
import { describe, test } from "node:test";
import {
	baselineQueries,
	capComparisons,
	compareWithBaselines,
	ignoreId,
	kindMismatch,
	mayReplaceIgnore,
	normaliseVulnerability,
	reportId,
	reportSeries,
	rereadAsSecurity,
	resolveDefaultBranch,
	type StoredReportBody,
	summariseReport,
	uploadSource,
} from "../../src/quality/index.ts";
import { parseReportFile } from "../../src/reports/index.ts";

const FIXTURES = path.join(import.meta.dirname, "..", "fixtures");
const body = async (file: string) => summariseReport(await parseReportFile(path.join(FIXTURES, file)));

describe("default branch of a report", () => {
	test("an explicit default branch wins and the store is not asked", async () => {
		let asked = 0;
		const lookup = async () => {
			asked++;
			return 5;
		};
		assert.equal(await resolveDefaultBranch("develop", "feature", lookup), "develop");
		assert.equal(asked, 0);
	});

	test("a run on master counts itself; elsewhere reports on master decide", async () => {
		let asked = 0;
		const none = async () => {
			asked++;
			return 0;
		};
		assert.equal(await resolveDefaultBranch(undefined, "master", none), "master");
		assert.equal(asked, 0);
		assert.equal(await resolveDefaultBranch(undefined, "feature", none), "main");
		assert.equal(asked, 1);
		assert.equal(await resolveDefaultBranch(undefined, "feature", async () => 2), "master");
	});
});

describe("baselines of a report", () => {
	const p = { project: "P", workflow: "w", series: "build|coverage|lcov.info", runNumber: 7 };

	test("on the default branch: only the previous run of the branch", () => {
		const q = baselineQueries({ ...p, branch: "main", defaultBranch: "main" });
		assert.deepEqual(q.previous, { ...p, branch: "main", runNumber: { $lt: 7 } });
		assert.equal(q.default, undefined);
	});

	test("off the default branch: also the latest other run on the default branch", () => {
		const q = baselineQueries({ ...p, branch: "feature", defaultBranch: "main" });
		assert.deepEqual(q.previous, {
			project: "P",
			workflow: "w",
			series: p.series,
			branch: "feature",
			runNumber: { $lt: 7 },
		});
		assert.deepEqual(q.default, {
			project: "P",
			workflow: "w",
			series: p.series,
			branch: "main",
			runNumber: { $ne: 7 },
		});
	});

	test("comparisons name their baseline; missing baselines give no comparison", async () => {
		const now = await body("quality/feature-lcov.info");
		const before = await body("reports/c8/lcov.info");
		const full = compareWithBaselines(
			now,
			{ doc: { _id: "r1", runNumber: 6, branch: "main" }, body: before },
			null,
		);
		assert.deepEqual(full.previous?.against, { reportId: "r1", runNumber: 6, branch: "main" });
		assert.equal(full.previous?.delta.kind, "coverage");
		assert.equal("default" in full, false);
		assert.deepEqual(compareWithBaselines(now, null, null), {});
	});

	test("stored comparisons are cut, the full ones are not", async () => {
		const before = await body("reports/c8/lcov.info");
		const after: StoredReportBody = structuredClone(before);
		after.detail.files = (after.detail.files ?? []).map((f) => ({ ...f, lines: { covered: 0, total: 10 } }));
		const base = { doc: { _id: "r1", runNumber: 1, branch: "main" }, body: before };
		const full = compareWithBaselines(after, base, base);
		const files = full.previous?.delta.kind === "coverage" ? full.previous.delta.files.length : 0;
		assert.ok(files >= 2, "the fixture changes several files");
		const capped = capComparisons(full, 1);
		for (const c of [capped.previous, capped.default]) {
			assert.ok(c?.delta.kind === "coverage");
			assert.equal(c.delta.files.length, 1);
			assert.deepEqual(c.against, { reportId: "r1", runNumber: 1, branch: "main" });
		}
		assert.ok(full.previous?.delta.kind === "coverage" && full.previous.delta.files.length === files);
	});
});

describe("report identity", () => {
	const p = {
		project: "P",
		workflow: "w",
		runNumber: 3,
		node: "build",
		jobId: "j1",
		kind: "tests",
		name: "junit.xml",
	};

	test("a retried upload of the same file in the same job has the same id", () => {
		assert.match(reportId(p), /^[a-f0-9]{32}$/);
		assert.equal(reportId({ ...p }), reportId(p));
		assert.notEqual(reportId({ ...p, jobId: "j2" }), reportId(p));
		assert.notEqual(reportId({ ...p, name: "other.xml" }), reportId(p));
		assert.notEqual(reportId({ ...p, runNumber: 4 }), reportId(p));
	});

	test("series are per node, kind and file", () => {
		assert.equal(reportSeries("build", "coverage", "lcov.info"), "build|coverage|lcov.info");
	});
});

describe("which parse of an upload", () => {
	test("SARIF read as analysis is re-read as security for a security upload only", () => {
		assert.equal(rereadAsSecurity("security", { kind: "analysis", format: "sarif" }), true);
		assert.equal(rereadAsSecurity("analysis", { kind: "analysis", format: "sarif" }), false);
		assert.equal(rereadAsSecurity("security", { kind: "analysis", format: "eslint" }), false);
	});

	test("a report of another kind is refused with both kinds named", () => {
		assert.equal(kindMismatch("tests", "a.xml", { kind: "tests", format: "junit" }), null);
		assert.deepEqual(kindMismatch("tests", "lcov.info", { kind: "coverage", format: "lcov" }), {
			message: "report lcov.info is a coverage report (lcov), not a tests report",
			detail: "expected tests, found coverage",
		});
	});
});

describe("vulnerability ignores", () => {
	test("ids ignore the case of the vulnerability and depend on the package", () => {
		assert.equal(normaliseVulnerability("cve-2024-1"), "CVE-2024-1");
		const id = ignoreId("P", "app", "cve-2024-1");
		assert.match(id, /^[a-f0-9]{24}$/);
		assert.equal(ignoreId("P", "app", "CVE-2024-1"), id);
		assert.notEqual(ignoreId("P", "app", "CVE-2024-1", "lodash"), id);
		assert.notEqual(ignoreId("P", "other", "CVE-2024-1"), id);
	});

	test("an expired ignore may be renewed, an active one may not", () => {
		const now = new Date("2026-01-01T00:00:00Z");
		assert.equal(mayReplaceIgnore(null, now), true);
		assert.equal(mayReplaceIgnore({ expires: "2025-12-31T00:00:00Z" }, now), true);
		assert.equal(mayReplaceIgnore({ expires: "2026-02-01T00:00:00Z" }, now), false);
	});
});

describe("where an upload is read from", () => {
	const sha = "a".repeat(64);

	test("a named blob comes from the artifact store when there is one", () => {
		assert.deepEqual(uploadSource({ sha256: sha, content: "eA==" }, true), { from: "store", sha256: sha });
	});

	test("without a store, inline content is read and checked against a given sha256", () => {
		assert.deepEqual(uploadSource({ sha256: sha, content: "eA==" }, false), {
			from: "content",
			checksum: sha,
		});
		assert.deepEqual(uploadSource({ content: "eA==" }, true), { from: "content" });
	});

	test("nothing to read: the message says what is missing", () => {
		const noStore = uploadSource({ sha256: sha }, false);
		assert.equal(noStore.from, "none");
		assert.match(noStore.from === "none" ? noStore.message : "", /no artifact store/);
		const nothing = uploadSource({}, true);
		assert.match(nothing.from === "none" ? nothing.message : "", /either sha256 .* or content is required/);
	});
});
