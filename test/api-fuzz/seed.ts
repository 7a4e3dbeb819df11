// Seeds a fresh node for the API fuzz phase: real ids for every kind of path parameter, so the
// fuzzer's requests reach the handlers (runs with logs, an artifact and a test report; tokens,
// variables, entities, a template repository, a vulnerability ignore).

import type { TestServer } from "../helpers/server.ts";

export interface Seeded {
	project: string;
	workflow: string;
	application: string;
	writeToken: string;
	runNumbers: number[];
	/** Values for `:name` parameters (workflow, pipeline, variable, entity, manager, template names). */
	names: string[];
	/** The same by the path segment before `:name` (workflows, pipelines, variables…). */
	namesByKind: Record<string, string[]>;
	/** Values for `:id` parameters (token, report, schedule and ignore ids). */
	ids: string[];
	tags: string[];
	templateRepos: string[];
}

const WORKFLOW = "fuzzflow";
const FINAL = new Set(["Success", "Fail", "Stopped", "Skipped"]);

const PIPELINE = [
	"version: v1.0",
	"name: build",
	"jobs:",
	"- job: make",
	"  steps:",
	"  - script:",
	"    - mkdir -p out && echo payload-{{.cds.version}} > out/data.txt",
	"    - echo built {{.cds.version}}",
	`    - printf '<testsuites><testsuite name="s" tests="1"><testcase name="t" classname="c"/></testsuite></testsuites>' > junit.xml`,
	"  - artifactUpload:",
	"      path: out/data.txt",
	"      tag: '{{.cds.version}}'",
	"  - jUnitReport: junit.xml",
	"",
].join("\n");

async function must(
	srv: TestServer,
	method: string,
	route: string,
	body?: unknown,
	token?: string,
): Promise<any> {
	const res = await srv.api(method, route, body, token);
	if (res.status >= 300)
		throw new Error(`seeding: ${method} ${route} -> ${res.status} ${JSON.stringify(res.body)}`);
	return res.body;
}

async function finishedRun(srv: TestServer, project: string, n: number, timeoutMs = 60_000) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const run = await must(srv, "GET", `/api/v1/projects/${project}/workflows/${WORKFLOW}/runs/${n}`);
		if (FINAL.has(run.status)) return run;
		if (Date.now() > deadline)
			throw new Error(`seeding: run #${n} still ${run.status} after ${timeoutMs} ms`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

/** Seeds project `project` (a fresh key); `templateRepo` must be new on this node too. */
export async function seed(srv: TestServer, project: string, templateRepo: string): Promise<Seeded> {
	const PROJECT = project;
	const p = `/api/v1/projects/${PROJECT}`;
	await must(srv, "POST", "/api/v1/projects", { key: PROJECT, name: "Fuzz" });
	const write = await must(srv, "POST", "/api/v1/auth/tokens", {
		project: PROJECT,
		role: "write",
		name: "fuzz",
	});
	const read = await must(srv, "POST", "/api/v1/auth/tokens", {
		project: PROJECT,
		role: "read",
		name: "fuzz-read",
	});
	await must(srv, "POST", `${p}/import`, {
		files: [
			{ path: "w.yml", content: `name: ${WORKFLOW}\nversion: v1.0\npipeline: build\n` },
			{ path: "build.pip.yml", content: PIPELINE },
		],
	});
	await must(srv, "POST", `${p}/applications`, { name: "app" });
	await must(srv, "POST", `${p}/environments`, { name: "prod" });
	await must(srv, "POST", `${p}/variables`, { name: "greeting", type: "string", value: "hello" });
	await must(srv, "POST", `${p}/variables`, { name: "secret", type: "password", value: "s3cret-value" });
	const ignore = await must(srv, "POST", `${p}/applications/app/vulnerability-ignores`, {
		vulnerability: "CVE-2020-0001",
		reason: "not reachable",
		expires: "30d",
	});
	const schedule = await srv.api("POST", `${p}/workflows/${WORKFLOW}/schedules`, { cron: "0 3 * * *" });
	await must(srv, "POST", "/api/v1/templates/repos", { name: templateRepo, description: "seeded" });

	const runNumbers: number[] = [];
	for (let i = 0; i < 2; i++) {
		const created = await must(srv, "POST", `${p}/workflows/${WORKFLOW}/runs`, {});
		const run = await finishedRun(srv, PROJECT, created.number);
		if (run.status !== "Success") throw new Error(`seeding: run #${created.number} ended ${run.status}`);
		runNumbers.push(created.number);
	}
	const reports = await must(srv, "GET", `${p}/workflows/${WORKFLOW}/runs/${runNumbers[0]}/reports`);

	return {
		project: PROJECT,
		workflow: WORKFLOW,
		application: "app",
		writeToken: write.token,
		runNumbers,
		names: [WORKFLOW, "build", "greeting", "secret", "app", "prod", "data.txt"],
		namesByKind: {
			workflows: [WORKFLOW],
			pipelines: ["build"],
			variables: ["greeting", "secret"],
			applications: ["app"],
			environments: ["prod"],
		},
		ids: [
			write.id,
			read.id,
			ignore.id,
			...(schedule.status < 300 && schedule.body?.id ? [schedule.body.id] : []),
			...(reports.items ?? []).map((r: { id: string }) => r.id),
		].filter((x): x is string => typeof x === "string"),
		tags: runNumbers.map(String),
		templateRepos: [templateRepo],
	};
}
