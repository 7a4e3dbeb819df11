// Import → list → export → import through the REST API, on the CDS corpus.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { parseFileSet } from "../../src/workflow/index.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { corpus, corpusPath } from "../helpers/corpus.ts";

function corpusFiles(dir: string): Array<{ path: string; content: string }> {
	const full = corpusPath(dir);
	return readdirSync(full)
		.filter((f) => /\.(ya?ml|json)$/.test(f))
		.sort()
		.map((f) => ({ path: f, content: readFileSync(path.join(full, f), "utf8") }));
}

let srv: TestServer;

describe("workflow import and export through the API", { skip: corpus.skip }, () => {
	before(async () => {
		srv = await startTestServer();
		assert.equal((await srv.api("POST", "/api/v1/projects", { key: "DEMO", name: "Demo" })).status, 201);
	});
	after(async () => srv?.stop());

	test("ITSCWRKFLW3 imports, lists, and exports to an equivalent model", async () => {
		const files = corpusFiles("ITSCWRKFLW3");
		const imported = await srv.api("POST", "/api/v1/projects/DEMO/import", { files });
		assert.equal(imported.status, 200, JSON.stringify(imported.body));
		assert.deepEqual(imported.body.workflows, ["ITSCWRKFLW3-WORKFLOW"]);
		assert.deepEqual(imported.body.created, ["ITSCWRKFLW3-WORKFLOW"]);
		assert.deepEqual(imported.body.pipelines, ["build_api", "build_front", "deploy", "root", "tests"]);
		// The application and environments it names are not in the set: created empty, with a warning.
		assert.ok(imported.body.warnings.some((w: { message: string }) => /ITSCWRKFLW3-APP/.test(w.message)));
		// …and counted with what the import wrote (the CLI's summary said "0 applications").
		assert.deepEqual(imported.body.applications, ["ITSCWRKFLW3-APP"]);
		const apps = await srv.api("GET", "/api/v1/projects/DEMO/applications");
		assert.deepEqual(
			apps.body.items.map((a: { name: string }) => a.name),
			["ITSCWRKFLW3-APP"],
		);

		const list = await srv.api("GET", "/api/v1/projects/DEMO/workflows");
		assert.equal(list.status, 200);
		assert.equal(list.body.items[0].name, "ITSCWRKFLW3-WORKFLOW");
		assert.equal(list.body.items[0].version, 1);

		const exported = await srv.api("GET", "/api/v1/projects/DEMO/workflows/ITSCWRKFLW3-WORKFLOW/export");
		assert.equal(exported.status, 200, JSON.stringify(exported.body));
		const original = parseFileSet(files, {});
		const roundTrip = parseFileSet(exported.body.files, {});
		assert.deepEqual(roundTrip.errors, []);
		assert.deepEqual(roundTrip.model.workflows, original.model.workflows);
		assert.deepEqual(roundTrip.model.pipelines, original.model.pipelines);

		const again = await srv.api("GET", "/api/v1/projects/DEMO/workflows/ITSCWRKFLW3-WORKFLOW/export");
		assert.deepEqual(again.body, exported.body, "export is stable");

		const json = await srv.api(
			"GET",
			"/api/v1/projects/DEMO/workflows/ITSCWRKFLW3-WORKFLOW/export?format=json",
		);
		assert.equal(json.status, 200);
		assert.ok(json.body.files.every((f: { path: string }) => f.path.endsWith(".json")));
	});

	test("importing the same files again changes nothing; a change needs force and makes version 2", async () => {
		const files = corpusFiles("ITSCWRKFLW3");
		const same = await srv.api("POST", "/api/v1/projects/DEMO/import", { files });
		assert.equal(same.status, 200);
		assert.deepEqual(same.body.unchanged, ["ITSCWRKFLW3-WORKFLOW"]);

		const changed = files.map((f) =>
			f.path === "deploy.pip.yml" ? { ...f, content: f.content.replace("sleep 1", "sleep 2") } : f,
		);
		const refused = await srv.api("POST", "/api/v1/projects/DEMO/import", { files: changed });
		assert.equal(refused.status, 409);
		assert.match(refused.body.message, /pipeline deploy/);
		const forced = await srv.api("POST", "/api/v1/projects/DEMO/import", { files: changed, force: true });
		assert.equal(forced.status, 200, JSON.stringify(forced.body));
		assert.deepEqual(forced.body.updated, ["ITSCWRKFLW3-WORKFLOW"]);
		const wf = await srv.api("GET", "/api/v1/projects/DEMO/workflows/ITSCWRKFLW3-WORKFLOW");
		assert.equal(wf.body.version, 2);
		const v1 = await srv.api("GET", "/api/v1/projects/DEMO/workflows/ITSCWRKFLW3-WORKFLOW?version=1");
		assert.equal(v1.body.version, 1, "old definitions stay readable: runs pin them");
		assert.notEqual(v1.body.hash, wf.body.hash);
	});

	test("invalid files → 422 with file, line and column; nothing stored changes", async () => {
		const before = await srv.api("GET", "/api/v1/projects/DEMO/workflows");
		const cycle = await srv.api("POST", "/api/v1/projects/DEMO/import", {
			files: [
				{
					path: "wf.yml",
					content:
						"name: CYCLE\nversion: v2.0\nworkflow:\n  a:\n    pipeline: p\n    depends_on: [b]\n  b:\n    pipeline: p\n    depends_on: [a]\n",
				},
				{
					path: "p.pip.yml",
					content: "version: v1.0\nname: p\njobs:\n- job: j\n  steps:\n  - script: echo\n",
				},
			],
		});
		assert.equal(cycle.status, 422);
		assert.ok(cycle.body.data.errors.length > 0);
		const e = cycle.body.data.errors[0];
		assert.equal(e.file, "wf.yml");
		assert.ok(e.line > 0 && e.column > 0);
		assert.match(JSON.stringify(cycle.body.data.errors), /cycle/i);

		const malformed = await srv.api("POST", "/api/v1/projects/DEMO/import", {
			files: [{ path: "bad.yml", content: "name: x\nversion: v2.0\nworkflow:\n  a: [unclosed\n" }],
		});
		assert.equal(malformed.status, 422);
		assert.equal(malformed.body.data.errors[0].file, "bad.yml");

		const typo = await srv.api("POST", "/api/v1/projects/DEMO/import", {
			files: [
				{
					path: "p.pip.yml",
					content: "version: v1.0\nname: typo\njobs:\n- job: j\n  steps:\n  - scirpt: echo\n",
				},
			],
		});
		assert.equal(typo.status, 422);
		assert.deepEqual(
			{ line: typo.body.data.errors[0].line, column: typo.body.data.errors[0].column },
			{ line: 6, column: 5 },
		);
		assert.match(typo.body.data.errors[0].message, /scirpt/);

		const after = await srv.api("GET", "/api/v1/projects/DEMO/workflows");
		assert.deepEqual(after.body, before.body);
	});

	test("a reference to an integration the project lacks fails naming it (ITSCWRKFLW18)", async () => {
		const r = await srv.api("POST", "/api/v1/projects/DEMO/import", { files: corpusFiles("ITSCWRKFLW18") });
		assert.equal(r.status, 422);
		assert.match(JSON.stringify(r.body.data.errors), /myKafkaHookIntegration|myKafkaIntegration/);
	});

	test("password values are exported sealed with the project key and re-imported in clear", async () => {
		const secret = "app-secret-value-42";
		const files = [
			{ path: "w.yml", content: "name: SECRETWF\nversion: v1.0\npipeline: sp\napplication: secret-app\n" },
			{
				path: "sp.pip.yml",
				content: "version: v1.0\nname: sp\njobs:\n- job: j\n  steps:\n  - script: echo hi\n",
			},
			{
				path: "secret-app.app.yml",
				content: `version: v1.0\nname: secret-app\nvariables:\n  db.password:\n    type: password\n    value: ${secret}\n  plain:\n    value: hello\n`,
			},
		];
		const imported = await srv.api("POST", "/api/v1/projects/DEMO/import", { files });
		assert.equal(imported.status, 200, JSON.stringify(imported.body));
		const exported = await srv.api("GET", "/api/v1/projects/DEMO/workflows/SECRETWF/export");
		const app = exported.body.files.find((f: { path: string }) => f.path.endsWith(".app.yml"));
		assert.ok(app, "the application is exported with its workflow");
		assert.ok(!app.content.includes(secret), "the password was exported in clear");
		assert.match(app.content, /enc:v1:/);

		assert.equal((await srv.api("POST", "/api/v1/projects", { key: "OTHER", name: "o" })).status, 201);
		const elsewhere = await srv.api("POST", "/api/v1/projects/OTHER/import", { files: exported.body.files });
		assert.equal(elsewhere.status, 422, "another project's key cannot open the sealed value");

		await srv.api("DELETE", "/api/v1/projects/DEMO/workflows/SECRETWF");
		const back = await srv.api("POST", "/api/v1/projects/DEMO/import", {
			files: exported.body.files,
			force: true,
		});
		assert.equal(back.status, 200, JSON.stringify(back.body));
	});
});
