import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { exportWorkflowFiles, parseFileSet, SEALED_PREFIX, WorkflowGraph } from "../../src/workflow/index.ts";

const PIPELINE =
	"version: v1.0\nname: build\njobs:\n- job: compile\n  retry: 2\n  timeout: 1h30m\n  steps:\n  - script: make\n    timeout: 90\n";

describe("workflow model", () => {
	test("v1.0 and v2.0 files of one workflow normalise to the same model", () => {
		const v1 =
			"name: wf\nversion: v1.0\npipeline: build\napplication: api\npayload:\n  git.branch: main\nconditions:\n  script: return true\npipeline_hooks:\n- type: Scheduler\n  config:\n    cron: 0 * * * *\npermissions:\n  devs: 7\nmetadata:\n  default_tags: git.branch\n";
		const v2 =
			"name: wf\nversion: v2.0\nworkflow:\n  build:\n    application: api\n    pipeline: build\n    payload: {git.branch: main}\n    conditions: {script: return true}\nhooks:\n  build:\n  - type: Scheduler\n    config: {cron: 0 * * * *}\nmetadata: {default_tags: git.branch}\npermissions: {devs: 7}\n";
		const a = parseFileSet([
			{ path: "wf.yml", content: v1 },
			{ path: "b.pip.yml", content: PIPELINE },
		]);
		const b = parseFileSet([
			{ path: "wf.yml", content: v2 },
			{ path: "b.pip.yml", content: PIPELINE },
		]);
		assert.deepEqual(a.errors, []);
		assert.deepEqual(a.model, b.model);
		assert.equal(a.files[0]!.sourceVersion, "v1.0");
		assert.equal(b.files[0]!.sourceVersion, "v2.0");
		assert.equal(a.model.workflows[0]!.version, "v1.0");
		assert.deepEqual(a.model.workflows[0]!.permissions, { devs: 7 });
		const [workflowFile] = exportWorkflowFiles(b.model);
		assert.match(
			workflowFile!.content,
			/^version: v1\.0$/m,
			"a single pipeline exports as v1.0, as CDS does",
		);
		assert.match(workflowFile!.content, /^pipeline_hooks:/m);
	});

	test("CDS-TS job retry/timeout and step timeout are kept and exported", () => {
		const result = parseFileSet([{ path: "b.pip.yml", content: PIPELINE }]);
		const job = result.model.pipelines[0]!.jobs[0]!;
		assert.equal(job.retry, 2);
		assert.equal(job.timeout, 5400);
		assert.equal(job.steps[0]!.timeout, 90);
		const [file] = exportWorkflowFiles(result.model);
		assert.match(file!.content, /timeout: 1h30m/);
		assert.match(file!.content, /timeout: 1m30s/);
	});

	test("permissions of workflows and nodes round-trip", () => {
		const text =
			"name: wf\nversion: v2.0\nworkflow:\n  a:\n    pipeline: build\n    permissions: {ops: 5}\n  b:\n    depends_on: [a]\n    pipeline: build\npermissions:\n  devs: 7\n  readers: 4\n";
		const result = parseFileSet([
			{ path: "wf.yml", content: text },
			{ path: "b.pip.yml", content: PIPELINE },
		]);
		const workflow = result.model.workflows[0]!;
		assert.deepEqual(workflow.permissions, { devs: 7, readers: 4 });
		assert.deepEqual(workflow.nodes[0]!.permissions, { ops: 5 });
		const again = parseFileSet(exportWorkflowFiles(result.model));
		assert.deepEqual(again.model, result.model);
	});

	test("password variables are sealed on export and opened on import through callbacks only", () => {
		const env =
			"name: prod\nvalues:\n  db-password:\n    type: password\n    value: hunter2\n  url:\n    type: string\n    value: https://x\n";
		const app =
			"version: v1.0\nname: api\nvcs_server: github\nrepo: org/api\nvcs_connection_type: https\nvcs_password: s3cret\nvariables:\n  token:\n    type: password\n    value: enc:v1:dG9r\nkeys:\n  deploy: {type: ssh}\n";
		const open = (sealed: string) =>
			Buffer.from(sealed.slice(SEALED_PREFIX.length), "base64").toString("utf8");
		const seal = (plain: string) => SEALED_PREFIX + Buffer.from(plain, "utf8").toString("base64");
		const files = [
			{ path: "prod.env.yml", content: env },
			{ path: "api.app.yml", content: app },
		];
		const imported = parseFileSet(files, {}, { openSecret: open });
		assert.deepEqual(imported.errors, []);
		assert.equal(imported.warnings.filter((w) => w.code === "cleartext-secret").length, 2);
		const environment = imported.model.environments[0]!;
		assert.deepEqual(environment.variables["db-password"], {
			type: "password",
			value: "hunter2",
			sealed: false,
		});
		const application = imported.model.applications[0]!;
		// The sealed text read is kept: an unchanged password exports exactly as it was imported.
		assert.deepEqual(application.variables["token"], {
			type: "password",
			value: "tok",
			sealed: false,
			asImported: "enc:v1:dG9r",
		});
		assert.deepEqual(application.vcs, { vcs_connection_type: "https" });
		assert.deepEqual(application.keys, { deploy: { type: "ssh" } });

		assert.throws(() => exportWorkflowFiles(imported.model), /sealSecret is required/);
		const exported = exportWorkflowFiles(imported.model, { sealSecret: seal });
		const all = exported.map((f) => f.content).join("\n");
		for (const secret of ["hunter2", "s3cret", "value: tok"])
			assert.ok(!all.includes(secret), `${secret} not in clear`);
		assert.ok(all.includes(seal("hunter2")));
		assert.deepEqual(exported.map((f) => f.path).sort(), ["api.app.yml", "prod.env.yml"]);

		const reopened = parseFileSet(exported, {}, { openSecret: open });
		const withoutImportedText = (m: unknown) =>
			JSON.parse(JSON.stringify(m, (k, v) => (k === "asImported" ? undefined : v)));
		assert.deepEqual(withoutImportedText(reopened.model), withoutImportedText(imported.model));
		assert.deepEqual(reopened.warnings, []);
		// Exporting what was imported writes the same bytes, whatever a fresh sealing would write.
		assert.deepEqual(
			exportWorkflowFiles(reopened.model, { sealSecret: () => `${SEALED_PREFIX}b3RoZXI=`, openSecret: open }),
			exported,
		);

		// Without openSecret the ciphertext stays sealed, and is exported untouched.
		const stillSealed = parseFileSet(exported);
		assert.deepEqual(stillSealed.model.environments[0]!.variables["db-password"], {
			type: "password",
			value: seal("hunter2"),
			sealed: true,
		});
		assert.deepEqual(exportWorkflowFiles(stillSealed.model), exported);
	});

	test("an openSecret failure is a located error, not a crash", () => {
		const env = "name: prod\nvalues:\n  p:\n    type: password\n    value: enc:v1:garbage\n";
		const result = parseFileSet(
			[{ path: "e.env.yml", content: env }],
			{},
			{
				openSecret: () => {
					throw new Error("wrong key");
				},
			},
		);
		assert.equal(result.errors[0]!.code, "secret-error");
		assert.equal(result.errors[0]!.line, 5);
		assert.match(result.errors[0]!.message, /wrong key/);
	});
});

describe("WorkflowGraph", () => {
	const nodes = [
		{ name: "root", dependsOn: [], pipeline: "build" },
		{ name: "fork", dependsOn: ["root"] },
		{ name: "b", dependsOn: ["fork"], pipeline: "p" },
		{ name: "a", dependsOn: ["fork"], pipeline: "p" },
		{ name: "join", dependsOn: ["a", "b"], pipeline: "p" },
	];

	test("roots, parents, children, forks, joins and topological order", () => {
		const graph = new WorkflowGraph(nodes);
		assert.deepEqual(graph.roots(), ["root"]);
		assert.deepEqual(graph.children("fork"), ["a", "b"]);
		assert.deepEqual(graph.parents("join"), ["a", "b"]);
		assert.deepEqual(graph.forks(), ["fork"]);
		assert.deepEqual(graph.joins(), ["join"]);
		assert.equal(graph.isFork("fork"), true);
		assert.equal(graph.isJoin("a"), false);
		assert.deepEqual(graph.topologicalOrder(), ["root", "fork", "a", "b", "join"]);
		assert.deepEqual(graph.descendants("fork"), ["a", "b", "join"]);
		assert.equal(graph.findCycle(), undefined);
	});

	test("a cycle is found with its nodes, and ordering refuses it", () => {
		const graph = new WorkflowGraph([
			...nodes,
			{ name: "loop1", dependsOn: ["root", "loop2"], pipeline: "p" },
			{ name: "loop2", dependsOn: ["loop1"], pipeline: "p" },
		]);
		assert.deepEqual(graph.findCycle(), ["loop1", "loop2"]);
		assert.throws(() => graph.topologicalOrder(), /cycle/);
	});

	test("the parser's node order is the graph's topological order", () => {
		const text =
			"name: wf\nversion: v2.0\nworkflow:\n  z-last:\n    depends_on: [m-join]\n    pipeline: p\n  m-join:\n    depends_on: [b, a]\n    pipeline: p\n  a:\n    depends_on: [root]\n    pipeline: p\n  b:\n    depends_on: [root]\n    pipeline: p\n  root:\n    pipeline: p\n";
		const result = parseFileSet([{ path: "wf.yml", content: text }], { pipelines: ["p"] });
		const workflow = result.model.workflows[0]!;
		assert.deepEqual(
			workflow.nodes.map((n) => n.name),
			["root", "a", "b", "m-join", "z-last"],
		);
		assert.deepEqual(new WorkflowGraph(workflow.nodes).joins(), ["m-join"]);
	});
});
