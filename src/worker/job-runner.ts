/**
 * Runs one job from start to end: fetch the JobSpec, make a fresh workspace, run the steps
 * (enabled / optional / always_executed, step and job timeouts), ship the logs, keep the
 * heartbeat going (and stop when the API says so), report each step and the result.
 */

import { randomBytes } from "node:crypto";
import { chmod, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { createMasker } from "../run/mask.ts";
import { openJobSandbox, type PreparedJobSandbox } from "../sandbox/launch.ts";
import type { StepRunner } from "../sandbox/remote-job.ts";
import type { SandboxPlan } from "../sandbox/plan.ts";
import type { WorkerNetwork } from "../sandbox/worker-network.ts";
import type { Step } from "../workflow/model.ts";
import type { ActionResult, StepContext } from "./actions/context.ts";
import { StepInterrupt } from "./actions/outcome.ts";
import { runAction } from "./actions/run-action.ts";
import {
	type ApiClient,
	createApiClient,
	isJobLost,
	isTransient,
	type JobResult,
	type JobStatus,
	type StepReport,
	type StepStatus,
} from "./api-client.ts";
import { retry } from "./backoff.ts";
import { type CommandServer, startCommandServer } from "./command-server.ts";
import { buildStepEnv } from "./env.ts";
import { runProcess } from "./process-runner.ts";
import { type JobSpec, parseJobSpec } from "./job-spec.ts";
import { LogShipper, type LogShipperStats } from "./log-shipper.ts";
import { StepLog } from "./step-log.ts";
import { createJobDirs, type JobDirs, removeJobDirs } from "./workspace.ts";

/** How long a step runs before it is reported Building (see the step loop in runJob). */
const BUILDING_REPORT_DELAY_MS = 250;

export interface JobRunOptions {
	apiUrl: string;
	token: string;
	baseDir: string;
	workerName: string;
	keepWorkspace: boolean;
	/** SIGTERM → SIGKILL delay for a stopped or timed-out step (5 s). */
	graceMs: number;
	/**
	 * How long reports and logs are retried while the API is unreachable, at least: until the
	 * job's own deadline (its timeout, plus the 30 s the server grants) when that is later.
	 */
	reportDeadlineMs: number;
	/** Aborted when the worker itself is told to stop (SIGTERM). */
	signal: AbortSignal;
	/** The worker's PATH and LANG, the only parts of its environment passed on. */
	path: string | undefined;
	/** The helm binary built-in deployment plugins may run (CDS_HELM_BIN from the hatchery), "" for none. */
	helm?: string;
	lang: string | undefined;
	/** The sandbox every process of a step runs in (CDS_WORKER_SANDBOX, from the hatchery). */
	sandbox: SandboxPlan;
	/** How long a step runs before it is reported Building (250 ms; tests set it). */
	buildingReportDelayMs?: number;
	/** The step container of the worker's pod: its steps run there, not in the worker's container. */
	stepRunner?: StepRunner;
	/** The worker's NAT namespace its steps join (bubblewrap with CDS_SANDBOX_NETWORK=nat). */
	network?: WorkerNetwork;
	/** How steps run the `worker` command: this Node and bin/cds-worker.ts. */
	workerCommand: { node: string; script: string };
	diag: (message: string) => void;
	/**
	 * The job's persistent workspace (the assign line's `workspace`): bound writable into the
	 * sandbox and shown to steps at $CDS_PERSISTENT_WORKSPACE.
	 */
	persistentWorkspace?: { name: string; path: string };
	/** A client already made for apiUrl/token, and its GET /job already under way. */
	api?: ApiClient;
	firstFetch?: Promise<unknown>;
}

export interface JobOutcome {
	jobId: string;
	status: JobStatus;
	/** False when the result could not be delivered to the API. */
	reported: boolean;
	reason?: string;
	/** Set when the workspace was kept (CDS_WORKER_KEEP_WORKSPACE=1). */
	workspace?: string;
	logs?: LogShipperStats;
}

type StepEntry = JobResult["steps"][number];

function shellQuote(text: string): string {
	return `'${text.replace(/'/g, `'\\''`)}'`;
}

async function installWorkerCommand(dirs: JobDirs, command: JobRunOptions["workerCommand"]): Promise<void> {
	const file = join(dirs.bin, "worker");
	await writeFile(file, `#!/bin/sh\nexec ${shellQuote(command.node)} ${shellQuote(command.script)} "$@"\n`);
	await chmod(file, 0o755);
}

function errorText(err: unknown): string {
	return err instanceof Error ? err.message : String(err);
}

/** What the server waits past a job's timeout before it fails the job (src/engine/reaper.ts). */
const SERVER_TIMEOUT_SLACK_MS = 30_000;

/**
 * How long a report may still be retried: until the job's deadline — after it the server
 * fails the job anyway — and never less than the configured report deadline.
 */
export function reportWindowMs(
	now: number,
	reportDeadlineMs: number,
	jobDeadlineAt: number | undefined,
): number {
	return Math.max(reportDeadlineMs, (jobDeadlineAt ?? 0) - now);
}

export async function runJob(options: JobRunOptions): Promise<JobOutcome> {
	const api = options.api ?? createApiClient(options.apiUrl, options.token);
	const startedAt = Date.now();
	let jobDeadlineAt: number | undefined;
	// A worker told to stop (SIGTERM) does not wait for the job's deadline: the report deadline only.
	const jobDeadline = () => (options.signal.aborted ? undefined : jobDeadlineAt);
	const retryReport = <T>(fn: () => Promise<T>) =>
		retry(fn, {
			deadlineMs: reportWindowMs(Date.now(), options.reportDeadlineMs, jobDeadline()),
			isRetryable: isTransient,
			onRetry: (err, attempt) => {
				if (attempt === 1) options.diag(`API unreachable, retrying: ${errorText(err)}`);
			},
		});

	let raw: unknown;
	try {
		let first = options.firstFetch;
		raw = await retryReport(() => {
			const attempt = first ?? api.getJob();
			first = undefined;
			return attempt;
		});
	} catch (err) {
		options.diag(`cannot fetch the job: ${errorText(err)}`);
		return { jobId: "", status: "Fail", reported: false, reason: errorText(err) };
	}
	let spec: JobSpec;
	try {
		spec = parseJobSpec(raw);
	} catch (err) {
		const reason = errorText(err);
		options.diag(reason);
		const reported = await retryReport(() =>
			api.postResult({ status: "Fail", reason, steps: [], exports: {} }),
		).then(
			() => true,
			() => false,
		);
		return { jobId: "", status: "Fail", reported, reason };
	}
	jobDeadlineAt = startedAt + spec.timeoutSeconds * 1000 + SERVER_TIMEOUT_SLACK_MS;
	const reportWindow = () => reportWindowMs(Date.now(), options.reportDeadlineMs, jobDeadline());
	return runSpec(spec, api, options, retryReport, reportWindow);
}

async function runSpec(
	spec: JobSpec,
	api: ApiClient,
	options: JobRunOptions,
	retryReport: <T>(fn: () => Promise<T>) => Promise<T>,
	reportWindow: () => number,
): Promise<JobOutcome> {
	const dirs = await createJobDirs(options.baseDir, spec.id);
	const jobAbort = new AbortController();
	let lost = false;
	const interrupt = (reason: StepInterrupt) => {
		if (!jobAbort.signal.aborted) jobAbort.abort(reason);
	};
	const onWorkerSignal = () => interrupt(new StepInterrupt("stop", "stopped: the worker was terminated"));
	if (options.signal.aborted) onWorkerSignal();
	else options.signal.addEventListener("abort", onWorkerSignal);

	const vars: Record<string, string> = { ...spec.variables, "cds.workspace": dirs.workspace };
	vars["cds.worker"] ??= options.workerName;
	const exports: Record<string, string> = {};
	const masker = spec.secrets.length > 0 ? createMasker(spec.secrets) : undefined;
	const shipper = new LogShipper({
		send: (entries) => api.postLogs(entries),
		isRetryable: isTransient,
		spillFile: join(dirs.internal, "logs.spill"),
		onError: (err) => options.diag(`log shipping: ${errorText(err)}`),
		// Not silent: the lines are safe on disk, but the operator should know the API was away.
		onSpill: (file) =>
			options.diag(`the API has not taken the log lines for a while: buffering them in ${file}`),
	});

	const markLost = (err: unknown) => {
		if (!isJobLost(err)) return false;
		lost = true;
		interrupt(new StepInterrupt("stop", "the job is no longer this worker's"));
		return true;
	};

	let heartbeatBusy = false;
	// Failed heartbeats are simply tried again at the next period; while the API is away the
	// worker says so at the first failure, every 30th after it, and when it is back.
	let heartbeatFailures = 0;
	const heartbeat = setInterval(() => {
		if (heartbeatBusy) return;
		heartbeatBusy = true;
		api
			.heartbeat()
			.then(({ stop }) => {
				if (heartbeatFailures > 0) options.diag(`heartbeat back after ${heartbeatFailures} failure(s)`);
				heartbeatFailures = 0;
				if (stop) interrupt(new StepInterrupt("stop", "the run was stopped"));
			})
			.catch((err: unknown) => {
				if (markLost(err)) return;
				if (heartbeatFailures++ % 30 === 0) options.diag(`heartbeat failed: ${errorText(err)}`);
			})
			.finally(() => {
				heartbeatBusy = false;
			});
	}, spec.heartbeatSeconds * 1000);
	const jobTimer = setTimeout(
		() => interrupt(new StepInterrupt("job-timeout", `the job timed out after ${spec.timeoutSeconds}s`)),
		spec.timeoutSeconds * 1000,
	);

	let server: CommandServer | undefined;
	let sandbox: PreparedJobSandbox | undefined;
	// Only this job's steps hold it: a step of another job that reached this socket would still
	// be refused.
	const socketKey = randomBytes(24).toString("base64url");
	const stepEntries: StepEntry[] = [];
	let lastStep: JobResult["lastStep"];
	let failed = false;
	let failure: string | undefined;
	try {
		await installWorkerCommand(dirs, options.workerCommand);
		server = await startCommandServer(dirs.socket, socketKey, {
			api,
			vars: () => vars,
			secrets: spec.secrets,
			tmpDir: dirs.tmp,
			// Steps of a root worker run as the sandbox's user: what the worker writes into the
			// workspace for them (downloads, caches, templates) becomes theirs.
			owner: options.sandbox.kind !== "none" && process.getuid?.() === 0 ? options.sandbox.runAs : undefined,
			runTool: (command, args, cwd) => runTool(sandbox, dirs, options, command, args, cwd),
			async exportVariable(name, value) {
				await retryReport(() => api.postVariable(name, value));
				vars[`cds.build.${name}`] = value;
				exports[name] = value;
			},
		});

		sandbox = await openJobSandbox(
			await sandboxWithWorkspace(options),
			dirs,
			options.network,
			options.stepRunner,
		);

		const reportStep = async (index: number, report: StepReport) => {
			if (lost) return;
			try {
				await retryReport(() => api.postStep(index, report));
			} catch (err) {
				if (!markLost(err)) options.diag(`cannot report step ${index}: ${errorText(err)}`);
			}
		};

		const lastIndex = spec.job.steps.length - 1;
		for (const [index, step] of spec.job.steps.entries()) {
			let status: StepStatus | undefined;
			if (!step.enabled) status = "Disabled";
			else if (jobAbort.signal.aborted || (failed && !step.alwaysExecuted)) status = "Skipped";
			if (status) {
				stepEntries.push({ status });
				if (index === lastIndex) lastStep = { index, status };
				else await reportStep(index, { status });
				continue;
			}
			const started = new Date().toISOString();
			// A step still running after a moment is reported Building; one that ended sooner is
			// reported once, ended, its start included: a call to the API and a store write less
			// for every quick step.
			let buildingReport: Promise<void> | undefined;
			const buildingTimer = setTimeout(() => {
				buildingReport = reportStep(index, { status: "Building", started });
			}, options.buildingReportDelayMs ?? BUILDING_REPORT_DELAY_MS);
			const result = await runStep(
				index,
				step,
				spec,
				dirs,
				vars,
				api,
				shipper,
				masker,
				jobAbort.signal,
				options,
				sandbox,
				socketKey,
			);
			clearTimeout(buildingTimer);
			await buildingReport;
			const ended = new Date().toISOString();
			const entry: StepEntry = { status: result.ok ? "Success" : "Fail", started, ended };
			if (result.exitCode !== undefined) entry.exitCode = result.exitCode;
			stepEntries.push(entry);
			const report: StepReport = { ...entry, ...(result.reason ? { reason: result.reason } : {}) };
			// The last step's end goes with the job's result: one request less a job.
			if (index === lastIndex) lastStep = { index, ...report };
			else await reportStep(index, report);
			if (!result.ok && (!step.optional || jobAbort.signal.aborted)) {
				failed = true;
				failure ??= `step ${index}${step.name ? ` (${step.name})` : ""}: ${result.reason ?? "failed"}`;
			}
		}
	} catch (err) {
		failed = true;
		failure ??= `worker error: ${errorText(err)}`;
		options.diag(failure);
	} finally {
		// The heartbeat goes on until the result is delivered: while the API is unreachable at
		// the end of a job, the worker must not look lost.
		clearTimeout(jobTimer);
		options.signal.removeEventListener("abort", onWorkerSignal);
		await server?.close();
		await sandbox?.close();
	}

	const abortReason = jobAbort.signal.reason;
	const stopped = abortReason instanceof StepInterrupt && abortReason.kind === "stop";
	const status: JobStatus = stopped ? "Stopped" : failed ? "Fail" : "Success";
	const reason = abortReason instanceof StepInterrupt ? abortReason.message : failure;
	const result: JobResult = { status, steps: stepEntries, exports };
	if (reason && status !== "Success") result.reason = reason;
	if (lastStep) result.lastStep = lastStep;

	let reported = false;
	if (!lost) {
		const logsComplete = await shipper.close(reportWindow());
		if (!logsComplete) options.diag(`some log lines could not be delivered (${shipper.pending} entries)`);
		reported = await retryReport(() => api.postResult(result)).then(
			() => true,
			(err: unknown) => {
				options.diag(`cannot report the result: ${errorText(err)}`);
				return false;
			},
		);
	} else {
		await shipper.close(0);
	}

	clearInterval(heartbeat);
	const outcome: JobOutcome = { jobId: spec.id, status, reported, logs: { ...shipper.stats } };
	if (result.reason) outcome.reason = result.reason;
	if (options.keepWorkspace) outcome.workspace = dirs.workspace;
	else
		await removeJobDirs(dirs).catch((err: unknown) =>
			options.diag(`cannot remove the workspace: ${errorText(err)}`),
		);
	return outcome;
}

/** A tool the worker runs for a step (tar for caches), where and as whom the steps run. */
async function runTool(
	sandbox: PreparedJobSandbox | undefined,
	dirs: JobDirs,
	options: JobRunOptions,
	command: string,
	args: string[],
	cwd: string,
): Promise<void> {
	if (!sandbox) throw new Error(`${command}: the job's sandbox is not ready`);
	let output = "";
	const result = await runProcess({
		command,
		args,
		cwd,
		env: { PATH: options.path || "/usr/bin:/bin", HOME: dirs.workspace, LANG: options.lang || "C.UTF-8" },
		sandbox,
		onOutput: (chunk) => {
			output = (output + chunk.toString()).slice(-2000);
		},
		signal: new AbortController().signal,
		graceMs: options.graceMs,
	});
	if (result.exitCode !== 0)
		throw new Error(
			`${command} failed (${result.error ?? result.exitCode ?? result.signal}): ${output.trim()}`,
		);
}

async function runStep(
	index: number,
	step: Step,
	spec: JobSpec,
	dirs: JobDirs,
	vars: Record<string, string>,
	api: ApiClient,
	shipper: LogShipper,
	masker: ReturnType<typeof createMasker> | undefined,
	jobSignal: AbortSignal,
	options: JobRunOptions,
	sandbox: PreparedJobSandbox,
	socketKey: string,
): Promise<ActionResult> {
	const log = new StepLog(index, (entry) => shipper.push(entry), masker, spec.logLimits);
	const stepAbort = new AbortController();
	const forward = () => stepAbort.abort(jobSignal.reason);
	if (jobSignal.aborted) forward();
	else jobSignal.addEventListener("abort", forward);
	const timeout = step.timeout ?? spec.stepTimeoutSeconds;
	const timer =
		timeout === null
			? undefined
			: setTimeout(
					() => stepAbort.abort(new StepInterrupt("step-timeout", `the step timed out after ${timeout}s`)),
					timeout * 1000,
				);
	const ctx: StepContext = {
		index,
		dirs,
		vars,
		api,
		log,
		signal: stepAbort.signal,
		graceMs: options.graceMs,
		sandbox,
		plugins: {
			node: options.workerCommand.node,
			root: resolve(dirname(options.workerCommand.script), ".."),
			secrets: spec.secrets,
			outboundAllow: spec.outboundAllow,
			helm: options.helm ?? "",
		},
		env: buildStepEnv({
			vars,
			workspace: dirs.workspace,
			tmp: dirs.tmp,
			bin: sandbox.binPath,
			socket: sandbox.socketPath,
			socketKey,
			path: options.path,
			lang: options.lang,
		}),
	};
	if (options.persistentWorkspace) {
		ctx.env.CDS_PERSISTENT_WORKSPACE = options.persistentWorkspace.path;
		ctx.env.CDS_PERSISTENT_WORKSPACE_NAME = options.persistentWorkspace.name;
	}
	let closing: string | undefined;
	try {
		const result = await runAction(step.action, ctx);
		if (!result.ok && result.reason) closing = `step failed: ${result.reason}`;
		return result;
	} finally {
		clearTimeout(timer);
		jobSignal.removeEventListener("abort", forward);
		log.end(closing);
	}
}

/**
 * The plan with the job's persistent workspace shared read-write (only for this job's steps: a
 * step of another job never gets it bound). Steps running as another user own it.
 */
async function sandboxWithWorkspace(options: JobRunOptions): Promise<SandboxPlan> {
	const ws = options.persistentWorkspace;
	if (!ws) return options.sandbox;
	const runAs = options.sandbox.runAs;
	if (options.sandbox.kind !== "none" && runAs && process.getuid?.() === 0) {
		const { chown } = await import("node:fs/promises");
		await chown(ws.path, runAs.uid, runAs.gid);
	}
	return { ...options.sandbox, share: [...options.sandbox.share, ws.path] };
}
