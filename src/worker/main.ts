/**
 * The worker process. It receives its work on stdin only — `{"type":"assign",apiUrl,token,jobId}`
 * lines — never through its environment, arguments or a file: `/proc/<pid>/environ` and
 * `cmdline` are readable by every process of the same user, steps included. For each
 * assignment it runs the job and answers `{"type":"done",…}` on stdout. Single-use (default):
 * one job, then exit 0 once its result is reported (even a failed job), 1 when it could not
 * report. Warm (CDS_WORKER_MODE=warm): it waits idle for assignments until stdin closes or
 * CDS_WORKER_MAX_JOBS jobs ran. A SIGTERM stops the current step, reports Stopped and ends
 * the worker.
 */

import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { parsePlan, type SandboxPlan } from "../sandbox/plan.ts";
import { connectStepRunner, type StepRunner } from "../sandbox/remote-job.ts";
import { WorkerNetwork } from "../sandbox/worker-network.ts";
import { createApiClient } from "./api-client.ts";
import type { JobOutcome, JobRunOptions } from "./job-runner.ts";

export interface WorkerIo {
	stdin: Readable;
	stdout: Writable;
	stderr: Writable;
}

export interface WorkerMainOptions {
	env: NodeJS.ProcessEnv;
	io: WorkerIo;
	/** bin/cds-worker.ts, run by the `worker` command of the steps. */
	script: string;
	/** Aborted when the worker gets SIGTERM / SIGINT. */
	signal: AbortSignal;
}

const DEFAULT_GRACE_MS = 5000;
const DEFAULT_REPORT_DEADLINE_SECONDS = 300;

function numberFrom(text: string | undefined, fallback: number): number {
	const value = Number(text);
	return text !== undefined && text !== "" && Number.isFinite(value) && value >= 0 ? value : fallback;
}

export async function main(options: WorkerMainOptions): Promise<number> {
	const { env, io } = options;
	const name = env.CDS_WORKER_NAME || `worker-${process.pid}`;
	const diag = (message: string) => io.stderr.write(`[cds-worker ${name}] ${message}\n`);
	let sandbox: SandboxPlan;
	try {
		sandbox = parsePlan(env.CDS_WORKER_SANDBOX);
	} catch (err) {
		// Never run a job unsandboxed because its plan was unreadable.
		diag(err instanceof Error ? err.message : String(err));
		return 2;
	}
	// Made while the worker waits for its first job, then joined by every step it runs.
	const network =
		sandbox.kind === "bwrap" && sandbox.network === "nat" ? new WorkerNetwork(sandbox.tools) : undefined;
	network
		?.enter()
		.catch((err: unknown) => diag(`job network: ${err instanceof Error ? err.message : String(err)}`));
	// In a pod, steps run in the step container (CDS_WORKER_STEP_RUNNER: its socket), never in
	// this one, which holds the job token.
	let stepRunner: StepRunner | undefined;
	if (env.CDS_WORKER_STEP_RUNNER) {
		try {
			stepRunner = await connectStepRunner(env.CDS_WORKER_STEP_RUNNER);
		} catch (err) {
			diag(err instanceof Error ? err.message : String(err));
			network?.close();
			return 2;
		}
	}
	const base: Omit<JobRunOptions, "apiUrl" | "token"> = {
		baseDir: env.CDS_WORKER_BASEDIR || join(tmpdir(), "cds-worker"),
		workerName: name,
		keepWorkspace: env.CDS_WORKER_KEEP_WORKSPACE === "1",
		graceMs: numberFrom(env.CDS_WORKER_KILL_GRACE_MS, DEFAULT_GRACE_MS),
		reportDeadlineMs:
			numberFrom(env.CDS_WORKER_REPORT_DEADLINE_SECONDS, DEFAULT_REPORT_DEADLINE_SECONDS) * 1000,
		signal: options.signal,
		sandbox,
		network,
		stepRunner,
		path: env.PATH,
		helm: env.CDS_HELM_BIN || "",
		lang: env.LANG,
		workerCommand: { node: process.execPath, script: options.script },
		diag,
	};
	const describe = (outcome: JobOutcome) =>
		`job ${outcome.jobId || "?"}: ${outcome.status}${outcome.reason ? ` (${outcome.reason})` : ""}` +
		(outcome.workspace ? `, workspace kept at ${outcome.workspace}` : "");

	try {
		return await serve(options, base, diag, describe);
	} finally {
		network?.close();
		stepRunner?.close();
	}
}

async function serve(
	options: WorkerMainOptions,
	base: Omit<JobRunOptions, "apiUrl" | "token">,
	diag: (message: string) => void,
	describe: (outcome: JobOutcome) => string,
): Promise<number> {
	const warm = options.env.CDS_WORKER_MODE === "warm";
	const maxJobs = numberFrom(options.env.CDS_WORKER_MAX_JOBS, 0) || (warm ? Number.POSITIVE_INFINITY : 1);
	const lines = createInterface({ input: options.io.stdin, crlfDelay: Number.POSITIVE_INFINITY });
	options.signal.addEventListener("abort", () => lines.close());
	let done = 0;
	let failedReports = 0;
	for await (const line of lines) {
		if (options.signal.aborted) break;
		if (line.trim() === "") continue;
		let message: { type?: unknown; apiUrl?: unknown; token?: unknown; jobId?: unknown; workspace?: unknown };
		try {
			message = JSON.parse(line);
		} catch {
			diag(`ignored a line that is not JSON: ${line.slice(0, 80)}`);
			continue;
		}
		if (
			message.type !== "assign" ||
			typeof message.apiUrl !== "string" ||
			typeof message.token !== "string"
		) {
			diag("ignored a message that is not an assignment {type: assign, apiUrl, token, jobId}");
			continue;
		}
		const jobId = typeof message.jobId === "string" ? message.jobId : "";
		// The job is requested before the job runner's modules are loaded: both overlap.
		const api = createApiClient(message.apiUrl, message.token);
		const firstFetch = api.getJob();
		firstFetch.catch(() => {}); // runJob retries and reports; this only avoids an unhandled rejection
		const { runJob } = await import("./job-runner.ts");
		const persistentWorkspace = workspaceOf(message.workspace);
		if (message.workspace !== undefined && !persistentWorkspace)
			diag("ignored a workspace that is not {name, path} with an absolute path");
		const outcome = await runJob({
			...base,
			apiUrl: message.apiUrl,
			token: message.token,
			api,
			firstFetch,
			...(persistentWorkspace ? { persistentWorkspace } : {}),
		});
		if (jobId && outcome.jobId && outcome.jobId !== jobId) {
			diag(`warning: the API gave job ${outcome.jobId}, expected ${jobId}`);
		}
		diag(describe(outcome));
		if (!outcome.reported) failedReports++;
		options.io.stdout.write(
			JSON.stringify({
				type: "done",
				jobId: jobId || outcome.jobId,
				status: outcome.status,
				reported: outcome.reported,
			}) + "\n",
		);
		if (++done >= maxJobs || options.signal.aborted) break;
	}
	lines.close();
	return failedReports > 0 ? 1 : 0;
}

/** The assign line's `workspace: {name, path}` (the driver made `path` available on this host). */
function workspaceOf(value: unknown): { name: string; path: string } | undefined {
	if (typeof value !== "object" || value === null) return undefined;
	const { name, path } = value as { name?: unknown; path?: unknown };
	if (typeof name !== "string" || typeof path !== "string" || !path.startsWith("/")) return undefined;
	return { name, path };
}
