#!/usr/bin/env node
// A stand-in WORKER for the Nova driver's driver-level tests (the real worker runs in the
// conformance and end-to-end suites): it reads the assignment line on stdin, as cds-worker
// does, and records what it got in RESULT_DIR (its first argument), without the token. With a
// persistent workspace it appends its job to `jobs.txt` there and records the file's content.
// A job id containing "hold" waits for RESULT_DIR/release before it exits.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const results = process.argv[2];
let input = "";
for await (const chunk of process.stdin) input += chunk;
const line = JSON.parse(input.split("\n")[0]);
const safe = line.jobId.replace(/[^A-Za-z0-9_-]/g, "_");
const record = { type: line.type, jobId: line.jobId, apiUrl: line.apiUrl, tokenLength: line.token.length };
if (line.workspace) {
	const file = path.join(line.workspace.path, "jobs.txt");
	appendFileSync(file, `${line.jobId}\n`);
	record.workspace = line.workspace;
	record.jobs = readFileSync(file, "utf8").trim().split("\n");
}
record.env = {
	CDS_WORKER_NAME: process.env.CDS_WORKER_NAME,
	tokenInEnv: JSON.stringify(process.env).includes(line.token),
};
writeFileSync(path.join(results, `${safe}.json`), JSON.stringify(record));
if (line.jobId.includes("hold"))
	while (!existsSync(path.join(results, "release"))) await new Promise((r) => setTimeout(r, 50));
