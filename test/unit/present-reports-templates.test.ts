// What the report and template APIs answer for stored documents, checked without a broker.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ReportDoc, VulnIgnoreDoc } from "../../schemas/report.ts";
import type { TemplateVersionDoc } from "../../schemas/template.ts";
import { presentIgnore, presentReport } from "../../src/quality/present.ts";
import { presentInstance, presentTemplate } from "../../src/templates/present.ts";

describe("report answers", () => {
	const doc = {
		_id: "r1",
		project: "P",
		workflow: "w",
		runId: "P/w/1",
		runNumber: 1,
		branch: "main",
		commit: null,
		node: "build",
		jobId: "j",
		kind: "coverage",
		name: "lcov.info",
		series: "build|coverage|lcov.info",
		application: null,
		format: "lcov",
		tool: null,
		sha256: null,
		summary: {},
		truncated: {},
		settings: { coverageMinimum: 80 },
		gate: { status: "passed", reasons: [] },
		defaultBranch: "main",
		comparisons: {},
		created: "2026-01-01T00:00:00Z",
	} as unknown as ReportDoc;

	test("the gate carries its settings; internal fields stay out; a tool shows only when known", () => {
		const out = presentReport(doc) as Record<string, unknown>;
		assert.equal(out.id, "r1");
		assert.deepEqual(out.gate, { status: "passed", reasons: [], settings: { coverageMinimum: 80 } });
		assert.equal("series" in out, false);
		assert.equal("sha256" in out, false);
		assert.equal("tool" in out, false);
		assert.equal((presentReport({ ...doc, tool: "c8" }) as Record<string, unknown>).tool, "c8");
	});

	test("an ignore shows whether it is still active", () => {
		const ignore = {
			_id: "i1",
			project: "P",
			application: "app",
			vulnerability: "CVE-1",
			reason: "not reachable",
			expires: "2026-06-01T00:00:00Z",
			created: "2026-01-01T00:00:00Z",
			author: "alice",
		} as VulnIgnoreDoc;
		assert.equal(presentIgnore(ignore, new Date("2026-05-31T00:00:00Z")).active, true);
		assert.equal(presentIgnore(ignore, new Date("2026-06-02T00:00:00Z")).active, false);
		assert.equal(presentIgnore(ignore).package, null);
		assert.equal("project" in presentIgnore(ignore), false);
	});
});

describe("template answers", () => {
	const version = {
		version: 2,
		fetched: "2026-01-01T00:00:00Z",
		bundle: {
			manifest: { slug: "go-app", name: "Go app", description: "from the manifest", parameters: [] },
			sources: [{ kind: "workflow", path: "w.yml", content: "x" }],
		},
	} as unknown as TemplateVersionDoc;

	test("the listing's description wins unless empty; an unlisted template has no url", () => {
		const listed = presentTemplate("corp", "go-app", { description: "listed", url: "https://x" }, version);
		assert.equal(listed.ref, "corp/go-app@2");
		assert.equal(listed.description, "listed");
		assert.equal(listed.url, "https://x");
		assert.equal(listed.manifest.group, null);
		assert.deepEqual(listed.files, [{ kind: "workflow", path: "w.yml" }]);
		const empty = presentTemplate("corp", "go-app", { description: "", url: "https://x" }, version);
		assert.equal(empty.description, "from the manifest");
		assert.equal(presentTemplate("corp", "go-app", null, version).url, null);
	});

	test("an instance names its template at its version", () => {
		const out = presentInstance({
			_id: "P/w",
			id: 3,
			project: "P",
			workflow: "w",
			template: "corp/go-app",
			version: 2,
			params: {},
			files: [],
			created: "a",
			updated: "b",
		});
		assert.equal(out.ref, "corp/go-app@2");
		assert.equal(out.id, 3);
	});
});
