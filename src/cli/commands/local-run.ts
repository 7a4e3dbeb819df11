// cds run: executes the working tree's `.cds/` files with the same engine, in this process —
// an embedded node (temporary data directory, sandboxed local hatchery, API on a random
// loopback port, no NATS, no MongoDB, no login) started for one run and removed afterwards.
// The files go through the same lint and import code as `cds workflow import`, the run through
// the same API, so a run that passes here passes on a server. The node is loaded lazily: the
// other commands never pay for it.

import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { CliFailure, formatLocated, UsageError, ValidationError } from "../errors.ts";
import { ApiClient, seg } from "../http.ts";
import { collectImportFiles, type ImportFile } from "../import-files.ts";
import type { CliIo } from "../io.ts";
import type { CommandContext, CommandRegistry } from "../registry.ts";
import { parseParams } from "../run-params.ts";
import type { FileSetModel } from "../../workflow/index.ts";

/** The project every local run lives in (the node is thrown away after the run). */
const PROJECT = "LOCAL";
/**
 * The run is refreshed when the node says it changed (its run.updated and job.updated events);
 * this is only the fallback should an event be missed.
 */
const LOCAL_POLL_MS = 250;
/** The logs are read once, after the run: this only bounds a retry. */
const LOG_POLL_MS = 50;
/** Nodes that never started have no logs to print. */
const NOT_RUN = new Set(["Skipped", "Disabled"]);
/** Services a local run needs: the API and what a run goes through; no hooks, repositories, templates. */
const LOCAL_SERVICES = "api,auth,project,workflow,run,hatchery,report";

function text(ctx: CommandContext, name: string): string | undefined {
	const value = ctx.values[name];
	return typeof value === "string" ? value : undefined;
}

async function freeLoopbackPort(): Promise<number> {
	return new Promise((done, fail) => {
		const srv = createServer();
		srv.once("error", fail);
		srv.listen(0, "127.0.0.1", () => {
			const { port } = srv.address() as { port: number };
			srv.close(() => done(port));
		});
	});
}

/** The current branch of the git working tree holding `dir`, read from .git/HEAD (no git process). */
async function gitBranch(dir: string): Promise<string | undefined> {
	for (let at = resolve(dir); ; at = dirname(at)) {
		const head = await readFile(join(at, ".git", "HEAD"), "utf8").catch(() => undefined);
		if (head !== undefined) return /^ref: refs\/heads\/(.+)$/m.exec(head)?.[1];
		if (dirname(at) === at) return undefined;
	}
}

interface Linted {
	model: FileSetModel;
	/** Names of the workflow files, relative to the directory. */
	workflowFiles: Set<string>;
}

/** Lints the files as `cds workflow lint` does; bad input is a ValidationError (exit 2) with file:line:column. */
async function lintOrFail(dir: string, cwd: string, shown: string): Promise<Linted> {
	const { lintPaths } = await import("../../workflow/index.ts");
	const report = await lintPaths([dir]);
	if (report.errors.length > 0 || !report.model) {
		// Paths as the user would type them, from the working directory.
		const details = report.errors.map(
			(d) => `${relative(cwd, d.file) || d.file}:${d.line}:${d.column}: ${d.message}`,
		);
		throw new ValidationError(`${shown}: the files are not valid (nothing was run)`, details);
	}
	// The set is the directory's own files (as `cdsctl workflow push .cds/` takes it); workflow
	// files are told by the linter, not guessed.
	const workflowFiles = new Set(
		report.files.filter((f) => f.kind === "workflow").map((f) => relative(dir, resolve(f.path))),
	);
	return { model: report.model, workflowFiles };
}

/** A v2.0 workflow of one node running `pipeline` (with the node's application and environment). */
function oneNodeWorkflow(
	name: string,
	node: string,
	pipeline: string,
	from?: { application?: string; environment?: string },
): string {
	const lines = [`name: ${JSON.stringify(name)}`, "version: v2.0", "workflow:", `  ${JSON.stringify(node)}:`];
	lines.push(`    pipeline: ${JSON.stringify(pipeline)}`);
	if (from?.application) lines.push(`    application: ${JSON.stringify(from.application)}`);
	if (from?.environment) lines.push(`    environment: ${JSON.stringify(from.environment)}`);
	return `${lines.join("\n")}\n`;
}

interface Plan {
	workflow: string;
	files: ImportFile[];
}

/**
 * What to import and run: the named workflow (or the only one), or a pipeline alone in a
 * one-node workflow; with --only, the workflow cut down to that node.
 */
function plan(
	{ model, workflowFiles }: Linted,
	files: ImportFile[],
	target: string | undefined,
	only: string | undefined,
): Plan {
	const workflowNames = model.workflows.map((w) => w.name);
	const pipelineNames = model.pipelines.map((p) => p.name);
	const isWorkflowFile = (f: ImportFile) => workflowFiles.has(f.path);
	let workflow = target === undefined ? undefined : model.workflows.find((w) => w.name === target);
	if (target === undefined) {
		if (model.workflows.length === 1) workflow = model.workflows[0];
		else if (model.workflows.length === 0 && model.pipelines.length === 1) target = pipelineNames[0];
		else
			throw new UsageError(
				`which workflow? name one: ${workflowNames.join(", ") || "(none)"}${pipelineNames.length ? `; or a pipeline: ${pipelineNames.join(", ")}` : ""}`,
			);
	}
	if (!workflow) {
		if (!target || !pipelineNames.includes(target))
			throw new UsageError(
				`no workflow or pipeline named ${target}: workflows ${workflowNames.join(", ") || "(none)"}; pipelines ${pipelineNames.join(", ") || "(none)"}`,
			);
		if (only !== undefined && only !== target)
			throw new UsageError(`pipeline ${target} runs alone: no node ${only}`);
		// The workflow files are left out: the pipeline runs alone, under its own name.
		const kept = files.filter((f) => !isWorkflowFile(f));
		return {
			workflow: target,
			files: [...kept, { path: ".cds-run.yml", content: oneNodeWorkflow(target, target, target) }],
		};
	}
	if (only === undefined) return { workflow: workflow.name, files };
	const node = workflow.nodes.find((n) => n.name === only);
	if (!node?.pipeline)
		throw new UsageError(
			`workflow ${workflow.name} has no pipeline node ${only} (nodes: ${workflow.nodes.map((n) => n.name).join(", ")})`,
		);
	const kept = files.filter((f) => !isWorkflowFile(f));
	const content = oneNodeWorkflow(workflow.name, node.name, node.pipeline, {
		application: node.application,
		environment: node.environment,
	});
	return { workflow: workflow.name, files: [...kept, { path: ".cds-run.yml", content }] };
}

/** What cds run uses of server.ts (declared here so the packaged client's build does not pull the server in). */
interface Engine {
	startServer(env: Record<string, string>): Promise<EmbeddedNode>;
}

/** What cds run uses of the API gateway service (services/api.service.ts on moleculer-web). */
interface GatewayService {
	/** moleculer-web's route rebuild, debounced after services change (lodash debounce). */
	regenerateAllAutoAliases?: { flush?(): void };
	isReady(): Promise<{ ready: boolean; reason?: string }>;
}

/**
 * Waits until the gateway serves the services' routes, asking it in-process (what its
 * /health/ready answers). It builds them after a debounce once the services are up; the node is
 * complete at start, so the build is run at once instead of after the debounce.
 */
async function gatewayReady(node: EmbeddedNode): Promise<void> {
	const api = node.broker.getLocalService("api");
	if (!api) throw new Error("the local node has no API gateway");
	api.regenerateAllAutoAliases?.flush?.();
	const deadline = Date.now() + 15_000;
	for (;;) {
		const state = await api.isReady();
		if (state.ready) return;
		if (Date.now() > deadline)
			throw new Error(`the local node did not become ready in 15 s (${state.reason})`);
		await new Promise((r) => setTimeout(r, 5));
	}
}

/** The parts of server.ts's RunningServer that cds run uses. */
interface EmbeddedNode {
	broker: {
		stop(): Promise<void>;
		createService(schema: { name: string; events: Record<string, () => void> }): unknown;
		getLocalService(name: string): GatewayService | undefined;
	};
	store: { close(): Promise<void> };
	stop(): Promise<void>;
}

/**
 * A sleep that ends early when the run or one of its jobs changes: the node's own events reach
 * a listening service in this process, so the tree follows the run without a fast poll.
 */
function changeWaiter(node: EmbeddedNode): (ms: number) => Promise<void> {
	let wake: (() => void) | undefined;
	let changed = false;
	const onChange = () => {
		changed = true;
		wake?.();
	};
	node.broker.createService({
		name: "$cds-run-watch",
		events: { "run.updated": onChange, "job.updated": onChange },
	});
	return (ms) => {
		if (changed) {
			changed = false;
			return Promise.resolve();
		}
		return new Promise<void>((done) => {
			const timer = setTimeout(finish, ms);
			function finish() {
				clearTimeout(timer);
				wake = undefined;
				changed = false;
				done();
			}
			wake = finish;
		});
	};
}

/**
 * The engine is the server's own code, next to this checkout's CLI. The specifier is computed so
 * `npm pack`'s build (bin/cds.ts and what it imports) leaves the server out: the installed
 * client has no engine and says so.
 */
async function loadEngine(): Promise<Engine> {
	const server = new URL("../../../server.ts", import.meta.url);
	try {
		return (await import(server.href)) as Engine;
	} catch (err) {
		const missing = (err as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND";
		if (!missing || !String((err as Error).message).includes("server.ts")) throw err;
		throw new CliFailure(
			"cds run needs the engine of a CDS-TS checkout: run `npx cds run` from inside the checkout (the installed client has none)",
		);
	}
}

/** Starts an embedded node in `dataDir`; its logs stay quiet unless CDS_RUN_LOG_LEVEL asks. */
async function startLocalNode(io: CliIo, dataDir: string, phase: (name: string) => void) {
	const port = await freeLoopbackPort();
	const token = randomBytes(24).toString("hex");
	const env: Record<string, string> = {
		CDS_DATA_DIR: dataDir,
		CDS_API_HOST: "127.0.0.1",
		CDS_API_PORT: String(port),
		CDS_ADMIN_TOKEN: token,
		SERVICES: LOCAL_SERVICES,
		LOG_LEVEL: io.env.CDS_RUN_LOG_LEVEL ?? "error",
		// The node lives for one run: stop at once, with its workers.
		CDS_HATCHERY_DRAIN_SECONDS: "0",
		CDS_HATCHERY_ON_STOP: "stop",
	};
	// What the steps' sandbox needs from the caller's world (binaries on PATH), and its knobs.
	for (const [key, value] of Object.entries(io.env)) {
		if (value === undefined) continue;
		if (key === "PATH" || key === "HOME" || key.startsWith("CDS_HATCHERY_") || key.startsWith("CDS_SANDBOX_"))
			env[key] ??= value;
	}
	// One warm worker: it starts (and loads its code) while the node starts and the files are
	// imported, and takes the job as soon as it is queued, instead of a process spawned then.
	env.CDS_HATCHERY_WARM_POOL ??= "1";
	const { startServer } = await loadEngine();
	phase("load node modules");
	const server = await startServer(env);
	phase("start node");
	try {
		await gatewayReady(server);
	} catch (err) {
		await server.stop().catch(() => {});
		throw err;
	}
	phase("gateway ready");
	const { nodeHttpSend } = await import("../node-http.ts");
	const client = new ApiClient({
		apiUrl: `http://127.0.0.1:${port}`,
		token,
		timeoutMs: 30_000,
		send: nodeHttpSend,
	});
	return { server, client, sleep: changeWaiter(server) };
}

/** CDS_RUN_TIMINGS=1 prints how long each phase took to stderr (for bench:local-run). */
function phaseClock(ctx: CommandContext): (phase: string) => void {
	if (!ctx.io.env.CDS_RUN_TIMINGS) return () => {};
	let last = performance.now();
	return (phase) => {
		const now = performance.now();
		ctx.warn(`timing: ${phase} ${Math.round(now - last)} ms`);
		last = now;
	};
}

async function runLocally(ctx: CommandContext): Promise<number> {
	const phase = phaseClock(ctx);
	const dir = resolve(ctx.io.cwd, text(ctx, "dir") ?? ".cds");
	const shownDir = text(ctx, "dir") ?? ".cds";
	const params = parseParams((ctx.values.param as string[] | undefined) ?? []);
	const linted = await lintOrFail(dir, ctx.io.cwd, shownDir);
	// The directory's own files: the set the linter checked (subdirectories are not part of it).
	const files = (await collectImportFiles([dir], ctx.io.cwd)).filter((f) => !f.path.includes("/"));
	const chosen = plan(linted, files, ctx.positionals[0], text(ctx, "only"));
	if (params["git.branch"] === undefined) {
		const branch = await gitBranch(ctx.io.cwd);
		if (branch) params["git.branch"] = branch;
	}
	phase("lint");
	const [{ followRun }, runApi, { printLogs }] = await Promise.all([
		import("../run-follow.ts"),
		import("../run-api.ts"),
		import("../log-follow.ts"),
	]);
	const dataDir = await mkdtemp(join(tmpdir(), "cds-run-"));
	let node: Awaited<ReturnType<typeof startLocalNode>> | undefined;
	let finished = false;
	try {
		node = await startLocalNode(ctx.io, dataDir, phase);
		const { client } = node;
		await client.post("/projects", { key: PROJECT, name: "Local run" });
		const imported = await client.post<{ warnings?: Parameters<typeof formatLocated>[0][] }>(
			`/projects/${seg(PROJECT)}/import`,
			{ files: chosen.files, force: true },
		);
		for (const warning of imported.warnings ?? []) ctx.warn(`warning: ${formatLocated(warning)}`);
		phase("import");
		const body: Record<string, unknown> = {};
		if (Object.keys(params).length > 0) body.params = params;
		const started = await client.post<import("../run-api.ts").Run>(
			runApi.runsPath(PROJECT, chosen.workflow),
			body,
		);
		ctx.print(`running ${chosen.workflow} from ${shownDir} (local run ${runApi.runLabel(started)})`);
		const final = await followRun(started, {
			io: ctx.io,
			intervalMs: LOCAL_POLL_MS,
			sleep: node.sleep,
			refresh: () => runApi.getRun(client, PROJECT, chosen.workflow, started.number),
		});
		phase("run");
		for (const runNode of final.nodes) {
			if (NOT_RUN.has(runNode.status)) continue;
			const jobs = runNode.stages.reduce((count, stage) => count + stage.jobs.length, 0);
			ctx.print("");
			ctx.print(`── ${runNode.name} (${runNode.status})`);
			await printLogs({
				client,
				project: PROJECT,
				workflow: chosen.workflow,
				number: final.number,
				node: runNode.name,
				follow: false,
				prefixed: jobs > 1,
				intervalMs: LOG_POLL_MS,
				write: (chunk) => ctx.io.stdout.write(chunk),
			});
		}
		phase("logs");
		ctx.print("");
		ctx.print(`${chosen.workflow}: ${final.status}`);
		finished = true;
		return runApi.isFinal(final.status) && runApi.isFailure(final.status) ? 1 : 0;
	} finally {
		await stopLocalNode(node?.server, dataDir, finished && ctx.io.exitNow !== undefined);
		phase("stop");
	}
}

/**
 * Stops the node (its hatchery stops the workers) and removes its directory. After a finished
 * run in the real CLI (`quick`: the process ends right after) the store is thrown away with
 * the directory unclosed: closing compacts every collection, work nobody reads. On an error
 * the command returns normally, so everything is closed for the process to end by itself.
 */
async function stopLocalNode(node: EmbeddedNode | undefined, dataDir: string, quick: boolean) {
	if (quick) await node?.broker.stop().catch(() => {});
	else await node?.stop().catch(() => {});
	// A worker still exiting (a loaded machine) may add or remove an entry while the tree is
	// removed: rmdir then fails ENOTEMPTY, which rm retries (with a growing delay, ~1 s at most).
	await rm(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 }).catch(() => {});
}

export function register(registry: CommandRegistry): void {
	registry.add({
		path: ["run"],
		summary: "Run the working tree's .cds/ workflow (or one pipeline) locally, without a server",
		args: "[WORKFLOW|PIPELINE]",
		positionals: { min: 0, max: 1 },
		options: {
			param: {
				type: "string",
				short: "p",
				multiple: true,
				valueName: "NAME=VALUE",
				description:
					"a run parameter, e.g. -p git.branch=main (repeatable; git.branch defaults to the current branch)",
			},
			only: { type: "string", valueName: "NODE", description: "run only this node of the workflow" },
			dir: { type: "string", valueName: "DIR", description: "the directory of the files (default: .cds)" },
		},
		details:
			"Starts an embedded node in a temporary directory (sandboxed local hatchery, no server, no\n" +
			"login), imports the files, runs the workflow, prints its tree and the step logs, and\n" +
			"removes everything. No argument runs the only workflow; a pipeline name runs that\n" +
			"pipeline alone. Exit code: 0 success, 1 failure, 2 invalid files (file:line:column).\n" +
			"CDS_RUN_LOG_LEVEL shows the node's own logs (e.g. info); CDS_RUN_TIMINGS=1 the phases' times.\n" +
			"It uses the engine of a CDS-TS checkout: there, `npx cds run` (the installed client has none).",
		run: async (ctx) => {
			const code = await runLocally(ctx);
			// The store was left open (see stopLocalNode): end here rather than wait on it.
			return ctx.io.exitNow ? ctx.io.exitNow(code) : code;
		},
	});
}
