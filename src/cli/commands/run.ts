// Run commands: cds workflow run|status|stop KEY WF …, and the roadmap's everyday commands
// cds track|logs|restart|status, which find their project/workflow/branch/commit through
// resolveRunTarget (flags and env today, the current git repository later).

import { ApiError, CliFailure, UsageError } from "../errors.ts";
import { seg } from "../http.ts";
import type { ApiClient } from "../http.ts";
import { printLogs } from "../log-follow.ts";
import { JSON_OPTION } from "../options.ts";
import type { CommandContext, CommandRegistry, OptionSpec } from "../registry.ts";
import {
	findLatestRun,
	getRun,
	isFailure,
	isFinal,
	nodesInGraphOrder,
	type Run,
	type RunNode,
	runLabel,
	runPath,
	runsPath,
	workflowModelNodes,
} from "../run-api.ts";
import { followRun, pollIntervalMs, pollUntilFinal, useColor } from "../run-follow.ts";
import { parseParams, parsePayload, parseRunNumber } from "../run-params.ts";
import { describeTarget, RUN_TARGET_OPTIONS, type RunTarget, resolveRunTarget } from "../run-target.ts";
import { renderRunTree, timeAgo } from "../run-tree.ts";
import { formatFields } from "../table.ts";

const RUN_OPTION: OptionSpec = {
	type: "string",
	valueName: "N",
	description: "the run number, or a sub-run such as 4.1 (default: the latest run of the branch)",
};
const NODE_OPTION: OptionSpec = {
	type: "string",
	valueName: "NAME",
	description: "the workflow node, instead of the first node running PIPELINE",
};

function text(ctx: CommandContext, name: string): string | undefined {
	const value = ctx.values[name];
	return typeof value === "string" ? value : undefined;
}

function printTree(ctx: CommandContext, run: Run): void {
	for (const line of renderRunTree(run, { color: useColor(ctx.io), now: Date.now() })) ctx.print(line);
}

/** Exit code of a final run for scripts: 1 when it failed or was stopped, else 0. */
function exitCodeOf(run: Run): number {
	return isFinal(run.status) && isFailure(run.status) ? 1 : 0;
}

/** Follows the run until it is final (live tree, or only the final JSON with --json); returns the exit code. */
async function waitForRun(ctx: CommandContext, client: ApiClient, run: Run, json: boolean): Promise<number> {
	const options = {
		io: ctx.io,
		intervalMs: pollIntervalMs(ctx.io.env),
		refresh: () => getRun(client, run.project, run.workflow, run.number),
	};
	const final = json ? await pollUntilFinal(run, options) : await followRun(run, options);
	if (json) ctx.printJson(final);
	return exitCodeOf(final);
}

/** The run named by --run, else the latest one of the target; a failure when there is none. */
async function targetRun(ctx: CommandContext, client: ApiClient, target: RunTarget): Promise<Run> {
	const raw = text(ctx, "run");
	if (raw !== undefined) return getRun(client, target.project, target.workflow, parseRunNumber(raw));
	const run = await findLatestRun(client, target);
	if (!run) throw new CliFailure(`no run of ${describeTarget(target)} in project ${target.project}`);
	return run;
}

/** Nodes that never started: their logs are empty and restarting them is rarely what was meant. */
const NOT_RUN = new Set(["Skipped", "Disabled"]);

function listNodes(nodes: readonly RunNode[]): string {
	return nodes.map((n) => `${n.name} (${n.status})`).join(", ");
}

/**
 * The node given by --node, else the first node in graph order whose pipeline is PIPELINE and
 * that ran (a Skipped or Disabled node has nothing to show). When none of them ran, `logs`
 * fails naming them with their status; `restart` takes the first one, since re-running a
 * skipped node is a legitimate request.
 */
async function targetNode(
	ctx: CommandContext,
	client: ApiClient,
	run: Run,
	options: { mustHaveRun: boolean },
): Promise<RunNode> {
	const pipeline = ctx.positionals[0];
	const nodeName = text(ctx, "node");
	if (nodeName === undefined && pipeline === undefined)
		throw new UsageError("missing PIPELINE (or --node NAME)");
	if (nodeName !== undefined) {
		const node = run.nodes.find((n) => n.name === nodeName);
		if (!node) {
			throw new CliFailure(`run ${runLabel(run)} has no node ${nodeName} (nodes: ${listNodes(run.nodes)})`);
		}
		return node;
	}
	// Graph order and the pipelines of nodes that have not started yet come from the model.
	const model = await workflowModelNodes(client, run.project, run.workflow).catch(() => []);
	const pipelineOf = (node: RunNode) => node.pipeline ?? model.find((m) => m.name === node.name)?.pipeline;
	const order = model.map((m) => m.name);
	const candidates = nodesInGraphOrder(run, order).filter((n) => pipelineOf(n) === pipeline);
	if (candidates.length === 0) {
		const pipelines = [...new Set(run.nodes.map(pipelineOf).filter(Boolean))];
		throw new CliFailure(
			`no node of run ${runLabel(run)} runs pipeline ${pipeline} (pipelines: ${pipelines.join(", ") || "none"})`,
		);
	}
	const ran = candidates.find((n) => !NOT_RUN.has(n.status));
	if (ran) return ran;
	if (options.mustHaveRun) {
		throw new CliFailure(
			`no node running pipeline ${pipeline} ran in run ${runLabel(run)}: ${listNodes(candidates)} (nodes: ${listNodes(run.nodes)})`,
		);
	}
	return candidates[0]!;
}

function registerWorkflowRun(registry: CommandRegistry): void {
	registry.add({
		path: ["workflow", "run"],
		summary: "Start a run of a workflow (or resume a manual node with --resume)",
		args: "KEY WORKFLOW",
		positionals: { min: 2, max: 2 },
		options: {
			param: {
				type: "string",
				short: "p",
				multiple: true,
				valueName: "NAME=VALUE",
				description: "a run parameter, e.g. -p git.branch=master (repeatable)",
			},
			payload: {
				type: "string",
				valueName: "JSON|@FILE",
				description: "the run payload, inline or from a file",
			},
			branch: { type: "string", valueName: "B", description: "run the workflow definition of branch B" },
			commit: { type: "string", valueName: "C", description: "the git commit of the run" },
			wait: {
				type: "boolean",
				description: "show the run until it ends; exit 1 when it fails or is stopped",
			},
			resume: { type: "string", valueName: "RUN", description: "resume run RUN at the manual node --node" },
			node: { type: "string", valueName: "NAME", description: "the manual node to resume (with --resume)" },
			json: JSON_OPTION,
		},
		details:
			"Prints `run #N started`. With --wait the status tree is shown until the run is final.\n" +
			"CDS_POLL_INTERVAL sets how often --wait asks the server, in seconds (default 1).",
		async run(ctx) {
			const [key, name] = ctx.positionals as [string, string];
			const json = ctx.values.json === true;
			const resume = text(ctx, "resume");
			const node = text(ctx, "node");
			const params = parseParams((ctx.values.param as string[] | undefined) ?? []);
			const rawPayload = text(ctx, "payload");
			let run: Run;
			if (resume !== undefined) {
				if (!node) throw new UsageError("--resume needs --node NAME");
				const extra = ["param", "payload", "branch", "commit"].find((o) => ctx.values[o] !== undefined);
				if (extra) throw new UsageError(`--${extra} cannot be used with --resume`);
				const number = parseRunNumber(resume, "--resume run number");
				const client = await ctx.client();
				run = await client.post<Run>(`${runPath(key, name, number)}/resume`, { node });
				if (!json) ctx.print(`resumed node ${node} of run ${runLabel(run)}`);
			} else {
				if (node !== undefined) throw new UsageError("--node is only used with --resume");
				const body: Record<string, unknown> = {};
				if (Object.keys(params).length > 0) body.params = params;
				if (rawPayload !== undefined) body.payload = await parsePayload(rawPayload, ctx.io.cwd);
				if (text(ctx, "branch")) body.branch = text(ctx, "branch");
				if (text(ctx, "commit")) body.commit = text(ctx, "commit");
				const client = await ctx.client();
				run = await client.post<Run>(runsPath(key, name), body);
				if (!json) ctx.print(`run ${runLabel(run)} started`);
			}
			if (ctx.values.wait === true) return waitForRun(ctx, await ctx.client(), run, json);
			if (json) ctx.printJson(run);
			return 0;
		},
	});
}

function registerWorkflowStatusStop(registry: CommandRegistry): void {
	registry.add({
		path: ["workflow", "status"],
		summary:
			"Show a run as a tree of nodes, stages and jobs (the latest run when RUN is omitted; RUN may be a sub-run, 4.1)",
		args: "KEY WORKFLOW [RUN]",
		positionals: { min: 2, max: 3 },
		options: { json: JSON_OPTION },
		async run(ctx) {
			const [key, name, raw] = ctx.positionals as [string, string, string | undefined];
			const number = raw === undefined ? undefined : parseRunNumber(raw);
			const client = await ctx.client();
			const run =
				number === undefined
					? await findLatestRun(client, { project: key, workflow: name })
					: await getRun(client, key, name, number);
			if (!run) throw new CliFailure(`workflow ${name} has no run yet`);
			if (ctx.values.json) ctx.printJson(run);
			else printTree(ctx, run);
			return 0;
		},
	});

	registry.add({
		path: ["workflow", "stop"],
		summary: "Stop a run and its jobs (RUN: a number, or a sub-run such as 4.1)",
		args: "KEY WORKFLOW RUN",
		positionals: { min: 3, max: 3 },
		options: { json: JSON_OPTION },
		async run(ctx) {
			const [key, name, raw] = ctx.positionals as [string, string, string];
			const number = parseRunNumber(raw);
			const client = await ctx.client();
			// The stop route answers with the run either way: look first to tell "stopped" from "had ended".
			const before = await getRun(client, key, name, number);
			const run = isFinal(before.status)
				? before
				: await client.post<Run>(`${runPath(key, name, number)}/stop`, {});
			if (ctx.values.json) ctx.printJson(run);
			else if (before === run) ctx.print(`run ${runLabel(run)} had already ended: ${run.status}`);
			else ctx.print(`run ${runLabel(run)} ${run.status === "Stopped" ? "stopped" : `is ${run.status}`}`);
			return 0;
		},
	});
}

const DEFAULT_START_TIMEOUT_S = 120;

function startTimeoutMs(raw: string | undefined, defaultSeconds: number): number {
	if (raw === undefined) return defaultSeconds * 1000;
	const seconds = Number(raw);
	if (raw.trim() === "" || !Number.isFinite(seconds) || seconds < 0)
		throw new UsageError(`invalid --timeout "${raw}": expected a number of seconds`);
	return Math.round(seconds * 1000);
}

/**
 * The latest run of the target; when there is none yet (the hook that starts it after a push
 * has not fired), asks again every poll interval until one appears or `timeoutMs` has passed.
 */
async function waitForFirstRun(
	ctx: CommandContext,
	client: ApiClient,
	target: RunTarget,
	timeoutMs: number,
): Promise<Run> {
	const deadline = Date.now() + timeoutMs;
	const interval = pollIntervalMs(ctx.io.env);
	let said = false;
	for (;;) {
		const run = await findLatestRun(client, target);
		if (run) return run;
		const left = deadline - Date.now();
		if (left <= 0) {
			const waited = timeoutMs > 0 ? ` after waiting ${Math.round(timeoutMs / 1000)}s` : "";
			// The usual cause after `cds push`: the commit reached the remote before the link.
			if (timeoutMs > 0 && target.branch)
				ctx.warn(
					`a commit pushed before the repository was linked starts no run; to run ${target.branch} now: cds workflow run ${target.project} ${target.workflow} -p git.branch=${target.branch}`,
				);
			throw new CliFailure(`no run of ${describeTarget(target)} in project ${target.project}${waited}`);
		}
		if (!said) {
			ctx.warn(`waiting for a run of ${describeTarget(target)} to start (up to ${Math.ceil(left / 1000)}s)…`);
			said = true;
		}
		await new Promise((done) => setTimeout(done, Math.min(interval, left)));
	}
}

function registerTrack(registry: CommandRegistry): void {
	registry.add({
		path: ["track"],
		summary: "Follow the latest run of the branch (and commit) until it ends",
		options: {
			...RUN_TARGET_OPTIONS,
			"no-follow": { type: "boolean", description: "print the run once instead of following it" },
			timeout: {
				type: "string",
				valueName: "SECONDS",
				description: `how long to wait for the run to start, e.g. right after cds push (default ${DEFAULT_START_TIMEOUT_S}, 0 with --no-follow)`,
			},
			json: JSON_OPTION,
		},
		details:
			"Exits 0 when the run succeeds, 1 when it fails or is stopped or no run started within --timeout,\n" +
			"2 on usage errors. On a terminal the tree is redrawn in place; otherwise each status change is one line.",
		async run(ctx) {
			const target = await resolveRunTarget(ctx);
			const once = ctx.values["no-follow"] === true;
			// A snapshot (--no-follow) does not wait unless asked to.
			const timeout = startTimeoutMs(text(ctx, "timeout"), once ? 0 : DEFAULT_START_TIMEOUT_S);
			const client = await ctx.client();
			const run = await waitForFirstRun(ctx, client, target, timeout);
			if (once) {
				if (ctx.values.json) ctx.printJson(run);
				else printTree(ctx, run);
				return exitCodeOf(run);
			}
			return waitForRun(ctx, client, run, ctx.values.json === true);
		},
	});
}

function registerLogs(registry: CommandRegistry): void {
	registry.add({
		path: ["logs"],
		summary: "Print the logs of the first node of PIPELINE that ran (or --node) in the latest run",
		args: "[PIPELINE]",
		positionals: { min: 0, max: 1 },
		options: {
			...RUN_TARGET_OPTIONS,
			run: RUN_OPTION,
			node: NODE_OPTION,
			follow: { type: "boolean", short: "f", description: "keep printing new lines until the run ends" },
		},
		details:
			"When the node has several jobs each line is prefixed [job/step] (steps count from 1).\n" +
			"PIPELINE picks the first node of that pipeline that ran (not Skipped or Disabled).\n" +
			"Exits 0 when lines were printed, 1 when there is nothing to show (the nodes and their status are named).",
		async run(ctx) {
			const target = await resolveRunTarget(ctx);
			const client = await ctx.client();
			const run = await targetRun(ctx, client, target);
			const node = await targetNode(ctx, client, run, { mustHaveRun: true });
			const jobs = node.stages.reduce((count, stage) => count + stage.jobs.length, 0);
			const printed = await printLogs({
				client,
				project: run.project,
				workflow: run.workflow,
				number: run.sub ? `${run.number}.${run.sub}` : run.number,
				node: node.name,
				follow: ctx.values.follow === true,
				prefixed: jobs > 1,
				intervalMs: pollIntervalMs(ctx.io.env),
				write: (chunk) => ctx.io.stdout.write(chunk),
			});
			if (printed > 0) return 0;
			// An empty output with exit 0 reads as "all is well": say what there is instead.
			ctx.warn(
				`node ${node.name} of run ${runLabel(run)} (${node.status}) has no log lines (nodes: ${listNodes(run.nodes)})`,
			);
			return 1;
		},
	});
}

function registerRestart(registry: CommandRegistry): void {
	registry.add({
		path: ["restart"],
		summary: "Run again the first node running PIPELINE (or --node) and what follows it",
		args: "[PIPELINE]",
		positionals: { min: 0, max: 1 },
		options: { ...RUN_TARGET_OPTIONS, run: RUN_OPTION, node: NODE_OPTION, json: JSON_OPTION },
		details: "The restart is a sub-run of the same number: #N.1, #N.2…",
		async run(ctx) {
			const target = await resolveRunTarget(ctx);
			const client = await ctx.client();
			const run = await targetRun(ctx, client, target);
			const node = await targetNode(ctx, client, run, { mustHaveRun: false });
			const which = run.sub ? `${run.number}.${run.sub}` : run.number;
			const sub = await client.post<Run>(`${runPath(run.project, run.workflow, which)}/restart`, {
				node: node.name,
			});
			if (ctx.values.json) {
				ctx.printJson(sub);
				return 0;
			}
			ctx.print(`restarted node ${node.name} of run #${run.number}: run ${runLabel(sub)}`);
			printTree(ctx, sub);
			return 0;
		},
	});
}

interface WorkflowHead {
	name: string;
	branch?: string | null;
	version?: number | string | null;
}

/** The workflow's definition on the branch, else its default one; undefined when it does not exist. */
async function pushedWorkflow(
	client: ApiClient,
	target: RunTarget,
): Promise<{ head: WorkflowHead; onBranch: boolean } | undefined> {
	const path = `/projects/${seg(target.project)}/workflows/${seg(target.workflow)}`;
	const attempts: Array<string | undefined> = target.branch ? [target.branch, undefined] : [undefined];
	for (const branch of attempts) {
		try {
			const head = await client.get<WorkflowHead>(path, { branch });
			return { head, onBranch: branch !== undefined };
		} catch (err) {
			if (!(err instanceof ApiError && err.status === 404)) throw err;
		}
	}
	return undefined;
}

function describeRun(run: Run | undefined, now: number, withBranch: boolean): string {
	if (!run) return "none";
	return [
		runLabel(run),
		run.status,
		withBranch && run.branch ? `branch ${run.branch}` : "",
		run.commit ? `commit ${run.commit.slice(0, 12)}` : "",
		run.created ? `${run.created} (${timeAgo(run.created, now)})` : "",
	]
		.filter(Boolean)
		.join("  ");
}

function registerStatus(registry: CommandRegistry): void {
	registry.add({
		path: ["status"],
		summary: "Whether the workflow is pushed, its last run on the branch and its last run overall",
		options: { ...RUN_TARGET_OPTIONS, json: JSON_OPTION },
		async run(ctx) {
			const target = await resolveRunTarget(ctx);
			const client = await ctx.client();
			const pushed = await pushedWorkflow(client, target);
			// Both fetched by number, so both are the latest sub-run (#4.1 after a restart of #4).
			const latest = await findLatestRun(client, { project: target.project, workflow: target.workflow });
			const branchRun = target.branch ? await findLatestRun(client, target) : undefined;
			if (ctx.values.json) {
				ctx.printJson({
					project: target.project,
					workflow: target.workflow,
					branch: target.branch ?? null,
					pushed: pushed !== undefined,
					definition: pushed
						? { branch: pushed.head.branch ?? null, version: pushed.head.version ?? null }
						: null,
					branchRun: branchRun ?? null,
					lastRun: latest ?? null,
				});
				return 0;
			}
			const now = Date.now();
			const definition = pushed
				? `pushed (version ${pushed.head.version ?? "?"} of branch ${pushed.head.branch ?? "?"})`
				: "not pushed";
			const fields: Array<[string, string]> = [
				["project", target.project],
				["workflow", `${target.workflow}: ${definition}`],
			];
			if (target.branch) {
				fields.push([
					`last run on ${target.branch}${target.commit ? ` at ${target.commit}` : ""}`,
					describeRun(branchRun, now, false),
				]);
			}
			fields.push(["last run", describeRun(latest, now, true)]);
			ctx.print(formatFields(fields));
			return 0;
		},
	});
}

export function register(registry: CommandRegistry): void {
	registerWorkflowRun(registry);
	registerWorkflowStatusStop(registry);
	registerTrack(registry);
	registerLogs(registry);
	registerRestart(registry);
	registerStatus(registry);
}
