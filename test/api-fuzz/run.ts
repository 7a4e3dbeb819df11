// The API fuzz phase: starts one CDS-TS node (every service, embedded store, local hatchery),
// seeds it with a project, a project-write token, an imported workflow, two finished runs (logs,
// an artifact, a test report) and a few entities, then runs schemathesis against the node's own
// OpenAPI document once with the admin token and once with the project-write token: every
// operation, the examples, coverage, fuzzing and stateful phases, within a time box. Malformed
// input must get a 4xx `{code,type,message,data}`, never a 5xx: the phase fails on any 5xx.
//
//   node test/api-fuzz/run.ts --schemathesis PATH [--max-examples N] [--max-time SECONDS]
//                             [--summary FILE] [--report-dir DIR] [--seed N]
//                             [--checks all] [--only admin|project-write]
//
// The calls and their statuses are counted from schemathesis' HAR report (every request it
// made, in every phase), so the figures do not depend on its console output.

import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { seed, type Seeded } from "./seed.ts";

const { values: args } = parseArgs({
	options: {
		schemathesis: { type: "string" },
		"max-examples": { type: "string", default: "15" },
		"max-time": { type: "string", default: "60" },
		summary: { type: "string" },
		"report-dir": { type: "string" },
		seed: { type: "string", default: "1" },
		// More checks (e.g. "all") to see where the document and the API disagree; CI keeps the default.
		checks: { type: "string", default: "not_a_server_error" },
		only: { type: "string" },
	},
});
if (!args.schemathesis) {
	console.error("usage: node test/api-fuzz/run.ts --schemathesis PATH [--max-examples N] [--max-time S]");
	process.exit(2);
}

interface TokenResult {
	token: string;
	exitCode: number | null;
	calls: number;
	serverErrors: number;
	byStatus: Record<string, number>;
	operations: number;
	/** "METHOD path -> status" of the first 5xx answers, to start debugging from. */
	serverErrorSamples: string[];
	seconds: number;
}

/** schemathesis.toml: seeded ids are offered for path parameters most of the time, so the
 * fuzzer reaches past "unknown project" into the handlers; the rest stays random. An operation
 * takes the parameters of the last `[[operations]]` entry it matches, whole, so each entry
 * below binds every parameter and their filters do not overlap. */
function configToml(s: Seeded, doomed: Seeded): string {
	const value = (v: string | number) => (typeof v === "number" ? String(v) : JSON.stringify(v));
	const dict = (name: string, values: Array<string | number>) =>
		`[dictionaries.${name}]\nvalues = [${values.map(value).join(", ")}]\n`;
	const binding = (param: string, dictionary: string, probability = 0.8) =>
		`"path.${param}" = { dictionary = "${dictionary}", probability = ${probability} }`;
	// Deletions aim at a second, sacrificial copy of the seed, so the first one lives through
	// the whole run (a deleted project would turn every later call into a 404).
	const bindings = (names: string, del: boolean) => [
		binding("key", del ? "doomed" : "keys", 0.9),
		binding("repo", del ? "doomedrepos" : "repos"),
		binding("name", names),
		binding("number", "numbers"),
		binding("id", del ? "doomedids" : "ids"),
		binding("tag", "tags"),
		binding("application", "applications"),
	];
	const kinds = Object.keys(s.namesByKind);
	const entry = (filter: string[], names: string, del: boolean) => [
		"[[operations]]",
		...filter,
		"[operations.parameters]",
		...bindings(names, del),
		"",
	];
	return [
		// No state across runs (schemathesis would keep it in .schemathesis/ of the checkout).
		"[cache]\nenabled = false\n",
		dict("keys", [s.project]),
		dict("doomed", [doomed.project]),
		dict("names", s.names),
		...kinds.map((k) => dict(`${k}names`, s.namesByKind[k])),
		dict("numbers", s.runNumbers),
		dict("ids", s.ids),
		dict("doomedids", doomed.ids),
		dict("tags", s.tags),
		dict("repos", s.templateRepos),
		dict("doomedrepos", doomed.templateRepos),
		dict("applications", [s.application]),
		"[parameters]",
		...bindings("names", false),
		"",
		...entry(['include-method = "DELETE"'], "names", true),
		...kinds.flatMap((k) => [
			...entry(
				[`include-path-regex = "/${k}/\\\\{name\\\\}"`, 'exclude-method = "DELETE"'],
				`${k}names`,
				false,
			),
			...entry(
				[`include-path-regex = "/${k}/\\\\{name\\\\}"`, 'include-method = "DELETE"'],
				`${k}names`,
				true,
			),
		]),
	].join("\n");
}

function countHar(file: string) {
	const har = JSON.parse(readFileSync(file, "utf8")) as {
		log: { entries: Array<{ request: { method: string; url: string }; response: { status: number } }> };
	};
	const byStatus: Record<string, number> = {};
	const samples: string[] = [];
	let serverErrors = 0;
	for (const e of har.log.entries) {
		const status = e.response?.status ?? 0;
		byStatus[status] = (byStatus[status] ?? 0) + 1;
		if (status >= 500) {
			serverErrors++;
			const line = `${e.request.method} ${new URL(e.request.url).pathname} -> ${status}`;
			if (samples.length < 20 && !samples.includes(line)) samples.push(line);
		}
	}
	return { calls: har.log.entries.length, serverErrors, byStatus, samples };
}

/** The time box split between two schemathesis passes: with one pass, a slow machine spends it
 * all on coverage and fuzzing and the stateful phase gets none; its own pass guarantees it a share. */
function passes(maxTime: number) {
	const stateful = Math.max(1, Math.round(maxTime / 3));
	return [
		{ name: "generated", phases: "examples,coverage,fuzzing", seconds: Math.max(1, maxTime - stateful) },
		{ name: "stateful", phases: "stateful", seconds: stateful },
	];
}

function runSchemathesis(argv: string[], log: string): Promise<number | null> {
	const out = openSync(log, "w");
	return new Promise<number | null>((resolve) => {
		const child = spawn(args.schemathesis!, argv, {
			stdio: ["ignore", out, out],
			env: { ...process.env, NO_COLOR: "1" },
		});
		child.on("exit", (code) => resolve(code));
		child.on("error", (e) => {
			console.error(`cannot start schemathesis: ${e.message}`);
			resolve(null);
		});
	}).finally(() => closeSync(out));
}

async function fuzz(
	srv: TestServer,
	s: Seeded,
	doomed: Seeded,
	label: string,
	token: string,
	dir: string,
): Promise<TokenResult> {
	const began = Date.now();
	const doc = (await srv.api("GET", "/api/v1/openapi.json", undefined, token)).body;
	const operations = Object.values(doc.paths ?? {}).reduce(
		(n: number, p) => n + Object.keys(p as object).length,
		0,
	);
	const config = path.join(dir, `schemathesis-${label}.toml`);
	writeFileSync(config, configToml(s, doomed));
	const result: TokenResult = {
		token: label,
		exitCode: 0,
		calls: 0,
		serverErrors: 0,
		byStatus: {},
		operations,
		serverErrorSamples: [],
		seconds: 0,
	};
	for (const pass of passes(Number(args["max-time"]))) {
		const har = path.join(dir, `${label}-${pass.name}.har`);
		const argv = [
			"--no-color",
			"--config-file",
			config,
			"run",
			`${srv.url}/api/v1/openapi.json`,
			"--url",
			`${srv.url}/api/v1`,
			"--header",
			`Authorization: Bearer ${token}`,
			"--phases",
			pass.phases,
			"--checks",
			args.checks!,
			"--max-examples",
			args["max-examples"]!,
			"--max-time",
			String(pass.seconds),
			"--seed",
			args.seed!,
			// One worker: with several, Hypothesis' lambda descriptions race on Python's ast module and
			// schemathesis reports "Runtime Error" for operations it then leaves untested.
			"--workers",
			"1",
			"--request-timeout",
			"20",
			"--continue-on-failure",
			"--suppress-health-check",
			"all",
			"--report",
			"har",
			"--report-har-path",
			har,
			"--output-truncate",
			"true",
		];
		const exitCode = await runSchemathesis(argv, path.join(dir, `${label}-${pass.name}.log`));
		// null (could not start) wins over a failure code, which wins over 0.
		if (result.exitCode !== null && (exitCode === null || exitCode !== 0)) result.exitCode = exitCode;
		try {
			const counted = countHar(har);
			result.calls += counted.calls;
			result.serverErrors += counted.serverErrors;
			for (const [status, n] of Object.entries(counted.byStatus))
				result.byStatus[status] = (result.byStatus[status] ?? 0) + n;
			for (const line of counted.samples)
				if (!result.serverErrorSamples.includes(line)) result.serverErrorSamples.push(line);
		} catch (e) {
			console.error(`no HAR report from schemathesis' ${pass.name} pass (${(e as Error).message})`);
		}
	}
	result.seconds = Math.round((Date.now() - began) / 1000);
	return result;
}

const began = Date.now();
const dir = path.resolve(args["report-dir"] ?? path.join("/tmp", `cds-api-fuzz-${process.pid}`));
mkdirSync(dir, { recursive: true });
/** A fresh node per token: the admin run revokes tokens and deletes projects, which would leave
 * another run nothing to test. */
async function fuzzOnFreshNode(label: "admin" | "project-write"): Promise<TokenResult> {
	const srv = await startTestServer({ CDS_HATCHERY_POLL_MS: "100", LOG_LEVEL: "error" });
	try {
		const t0 = Date.now();
		const [s, doomed] = await Promise.all([seed(srv, "FUZZ", "fuzzrepo"), seed(srv, "DOOMED", "doomedrepo")]);
		console.log(
			`${label}: seeded project ${s.project}: workflow ${s.workflow}, runs ${s.runNumbers.join(",")}, ${s.ids.length} ids (${Math.round((Date.now() - t0) / 1000)} s)`,
		);
		return await fuzz(srv, s, doomed, label, label === "admin" ? srv.adminToken : s.writeToken, dir);
	} finally {
		await srv.stop();
	}
}

// Both tokens at once, each against its own node: the time box is wall-clock, so this halves
// the phase; each schemathesis output is printed whole once both are done.
const labels = (["admin", "project-write"] as const).filter((l) => !args.only || args.only === l);
const results = await Promise.all(labels.map(fuzzOnFreshNode));
for (const r of results) {
	for (const pass of passes(Number(args["max-time"]))) {
		console.log(`\n--- schemathesis with the ${r.token} token: ${pass.phases}, ${pass.seconds} s`);
		process.stdout.write(readFileSync(path.join(dir, `${r.token}-${pass.name}.log`), "utf8"));
	}
}
const summary = {
	calls: results.reduce((n, r) => n + r.calls, 0),
	serverErrors: results.reduce((n, r) => n + r.serverErrors, 0),
	perToken: results,
	durationSeconds: Math.round((Date.now() - began) / 1000),
	reports: dir,
};
const text = JSON.stringify(summary, null, 2);
if (args.summary) writeFileSync(args.summary, `${text}\n`);
writeFileSync(path.join(dir, "summary.json"), `${text}\n`);
console.log(`\n--- api-fuzz summary\n${text}`);
// A run that made no call tested nothing: that is a failure too, not a pass.
const ranDry = results.some((r) => r.calls === 0 || r.exitCode === null);
console.log(
	`api-fuzz: ${summary.calls} calls, ${summary.serverErrors} server errors (5xx)${ranDry ? ", a run made no call" : ""}`,
);
process.exit(summary.serverErrors > 0 || ranDry ? 1 : 0);
