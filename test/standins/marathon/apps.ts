// STAND-IN for Marathon's apps, deployments, tasks and queue APIs (REST v2), for tests only,
// mounted on a MarathonStandin (./server.ts) through its `route()` mechanism, so the events
// stream it publishes to is the same one the Marathon events hook source reads. It follows
// Marathon's REST reference (docs/docs/rest-api) and its RAML types, which ./app-definition.
// schema.json keeps as a JSON schema: every app definition sent is validated against it and
// unknown fields are refused (422, Marathon's `{message, details: [{path, errors}]}`).
//
// Each app's task runs its `cmd` as a local process (`sh -c`, detached, in a fresh sandbox
// directory: $MESOS_SANDBOX, the working directory), after its `fetch` URIs are downloaded
// there as the Mesos fetcher does (a failed fetch fails the task). Task states go
// TASK_STAGING → TASK_RUNNING → TASK_FINISHED / TASK_FAILED / TASK_KILLED (TASK_LOST under the
// fault), each published as a `status_update_event`; a task that ends is relaunched after the
// app's backoff (backoffSeconds × backoffFactor^n, at most maxLaunchDelaySeconds) while the app
// wants more instances, and waits in `/v2/queue` meanwhile. A change (create, update, restart,
// delete) is a deployment that ends (`deployment_success`) when the app runs its instances of
// the new version; `DELETE /v2/deployments/{id}` rolls it back (a new deployment back to the original
// definition) unless `?force=true`. An app held by a deployment answers 409 "locked" to changes
// without `?force=true`.
//
// Faults: `failDeployment(appId)` (every task of the app's next deployment fails at launch —
// that deployment never completes; a rollback deploys a healthy version), `loseTask(appId)`
// (the processes of the tasks of the app, or of the apps in its group, are killed: TASK_LOST,
// "agent removed"), `machineDies(appId)` (the machine of the app's tasks dies unheard: their
// processes are killed, and the tasks stay TASK_RUNNING — Marathon knows what Mesos tells it, and
// the Mesos master tells nothing until it removes the agent for missing its health checks, 75 s
// by default; a kill meanwhile reaches nobody — until `agentRemoved(appId)`: TASK_LOST, "agent
// removed"), `unhealthy(appId)` (likewise, Marathon kills them for failing health
// checks: TASK_KILLED and an `unhealthy_instance_kill_event`), `noOffers(appId)` (no offer
// fits: the launch waits in `/v2/queue`, whose `processedOffersSummary` counts the declined
// offers), `failRequests(n, status)` (the next n API calls answer a 5xx).
//
// What it does NOT model: Mesos itself (offers, resources: cpus/mem/disk are validated, never
// enforced; every task runs on host 127.0.0.1 at once), containers (a DOCKER or MESOS container's
// image is not pulled: the command runs on this host), health checks (healthy unless the fault
// says otherwise), readiness checks, ports, constraints, secrets stores, groups and pods
// (/v2/groups, /v2/pods), rolling upgrades (an update kills the old tasks, then starts the new
// ones: upgradeStrategy is validated, not followed), `/v2/leader`, leader failover, persistence
// (a restarted stand-in knows no app), archive extraction and caching of fetched URIs.

import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { type Schema, validate } from "./schema.ts";
import type { MarathonStandin } from "./server.ts";

export const APP_SCHEMA: Schema = JSON.parse(
	readFileSync(path.join(import.meta.dirname, "app-definition.schema.json"), "utf8"),
);

const TASKS_DELETE_SCHEMA: Schema = {
	type: "object",
	required: ["ids"],
	properties: { ids: { type: "array", items: { type: "string" } } },
};

type Def = Record<string, unknown> & { id: string };

const TERMINAL = new Set([
	"TASK_FINISHED",
	"TASK_FAILED",
	"TASK_KILLED",
	"TASK_LOST",
	"TASK_ERROR",
	"TASK_DROPPED",
	"TASK_GONE",
]);

interface Task {
	id: string;
	appId: string;
	host: string;
	state: string;
	stagedAt: string;
	startedAt?: string;
	version: string;
	slaveId: string;
	child?: ChildProcess;
	sandbox: string;
	/** Why this task is being killed (the API, an update, the unhealthy fault…). */
	killing?: { state: string; message: string };
	/** Its machine died (the machineDies fault): nothing is heard of it until agentRemoved. */
	dead?: boolean;
}

interface App {
	def: Def;
	version: string;
	versions: Map<string, Def>;
	tasks: Task[];
	lastTaskFailure?: Record<string, unknown>;
	launches: number;
	delayUntil: number;
	/** Offers declined for it (the noOffers fault). */
	declined?: number;
	since?: string;
	relaunch?: NodeJS.Timeout;
}

interface Deployment {
	id: string;
	version: string;
	/** app id → its definition before (null: it did not exist) and after (null: deleted). */
	original: Map<string, Def | null>;
	target: Map<string, Def | null>;
}

export interface MarathonAppsOptions {
	/** Where task sandboxes are made. */
	dir: string;
	/** Environment every task gets besides its app's (PATH…). */
	taskEnv?: Record<string, string>;
	log?: (msg: string) => void;
}

const now = () => new Date().toISOString();
const absolute = (id: string) => `/${id.replace(/^\/+/, "").replace(/\/+$/, "")}`;

export class MarathonApps {
	readonly apps = new Map<string, App>();
	readonly deployments = new Map<string, Deployment>();
	/** Every request body the stand-in was sent and refused, for tests. */
	readonly refused: Array<{ path: string; details: unknown }> = [];
	#failDeployment = new Set<string>();
	#noOffers = new Set<string>();
	/** `appId@version` of the versions whose tasks fail (armed by failDeployment). */
	#failingVersions = new Set<string>();
	#failRequests: { n: number; status: number } = { n: 0, status: 503 };
	#opts: MarathonAppsOptions;
	#standin: MarathonStandin;
	#closed = false;

	constructor(standin: MarathonStandin, opts: MarathonAppsOptions) {
		this.#standin = standin;
		this.#opts = opts;
		mkdirSync(opts.dir, { recursive: true });
		const r = (key: string, h: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>) =>
			standin.route(key, (req, res, url) =>
				this.#guard(res, () => h(req, res, url)).catch((e) => send(res, 500, { message: String(e) })),
			);
		r("GET /v2/apps", (_req, res, url) => this.#listApps(res, url));
		r("POST /v2/apps", (req, res) => this.#createApp(req, res));
		r("GET /v2/apps/*", (_req, res, url) => this.#getAppPath(res, url));
		r("PUT /v2/apps/*", (req, res, url) => this.#putApp(req, res, url));
		r("DELETE /v2/apps/*", (_req, res, url) => this.#deleteApp(res, url));
		r("POST /v2/apps/*", (_req, res, url) => this.#restartApp(res, url));
		r("GET /v2/tasks", async (_req, res) => send(res, 200, { tasks: this.#allTasks().map(taskJson) }));
		r("POST /v2/tasks/delete", (req, res, url) => this.#deleteTasks(req, res, url));
		r("GET /v2/deployments", async (_req, res) =>
			send(
				res,
				200,
				[...this.deployments.values()].map((d) => deploymentJson(d)),
			),
		);
		r("DELETE /v2/deployments/*", (_req, res, url) => this.#deleteDeployment(res, url));
		r("GET /v2/queue", async (_req, res) => send(res, 200, { queue: this.#queue() }));
	}

	// ---- faults and views for tests ----

	/**
	 * The next deployment of `appId` (or of an app in its group) is a failing one: every task of
	 * the version it deploys fails at launch, so it never completes. A later deployment (a
	 * rollback) deploys a healthy version again. `on = false` disarms a fault not yet used.
	 */
	failDeployment(appId: string, on = true): void {
		if (on) this.#failDeployment.add(absolute(appId));
		else this.#failDeployment.delete(absolute(appId));
	}

	/** No offer fits the apps of `appId` (or of its group) until cleared: their launches wait in the queue. */
	noOffers(appId: string, on = true): void {
		if (on) this.#noOffers.add(absolute(appId));
		else this.#noOffers.delete(absolute(appId));
	}

	/** The next `n` API calls answer `status` (Marathon behind a failing proxy, a leader election). */
	failRequests(n: number, status = 503): void {
		this.#failRequests = { n, status };
	}

	/** The app's running tasks are lost with their agent: their processes die, TASK_LOST. */
	loseTask(appId: string): number {
		let lost = 0;
		for (const id of this.#under(appId))
			lost += this.#killAll(
				id,
				{ state: "TASK_LOST", message: "Agent 127.0.0.1 was removed (stand-in fault: agent lost)" },
				"SIGKILL",
			);
		return lost;
	}

	/** The machine of the app's running tasks dies: their processes die unheard, still TASK_RUNNING. */
	machineDies(appId: string): number {
		let dead = 0;
		for (const id of this.#under(appId))
			for (const t of this.apps.get(id)?.tasks ?? []) {
				if (TERMINAL.has(t.state) || !t.child) continue;
				t.dead = true;
				killGroup(t.child, "SIGKILL");
				dead++;
			}
		return dead;
	}

	/** The Mesos master removed the dead machine's agent: its tasks are TASK_LOST. */
	agentRemoved(appId: string): number {
		let lost = 0;
		for (const id of this.#under(appId))
			for (const t of [...(this.apps.get(id)?.tasks ?? [])]) {
				if (!t.dead || TERMINAL.has(t.state)) continue;
				this.#ended(t, "TASK_LOST", "Agent 127.0.0.1 was removed (stand-in fault: its machine died)");
				lost++;
			}
		return lost;
	}

	/** The ids of the app `appId` and of the apps in its group. */
	#under(appId: string): string[] {
		const id = absolute(appId);
		return [...this.apps.keys()].filter((a) => a === id || a.startsWith(`${id}/`));
	}

	/** The app's tasks fail their health checks: Marathon kills them. */
	unhealthy(appId: string, reason = "500 Internal Server Error"): number {
		let killed = 0;
		for (const id of this.#under(appId)) killed += this.#unhealthy(id, reason);
		return killed;
	}

	#unhealthy(id: string, reason: string): number {
		for (const t of this.apps.get(id)?.tasks ?? [])
			this.#standin.publish({
				eventType: "unhealthy_instance_kill_event",
				timestamp: now(),
				appId: id,
				taskId: t.id,
				instanceId: t.id,
				version: t.version,
				reason,
				host: t.host,
				slaveId: t.slaveId,
			});
		return this.#killAll(id, { state: "TASK_KILLED", message: `unhealthy: ${reason}` }, "SIGKILL");
	}

	/** OS process ids of the app's tasks. */
	pidsOf(appId: string): number[] {
		return (this.apps.get(absolute(appId))?.tasks ?? []).flatMap((t) => (t.child?.pid ? [t.child.pid] : []));
	}

	async stop(): Promise<void> {
		this.#closed = true;
		for (const app of this.apps.values()) {
			clearTimeout(app.relaunch);
			for (const t of app.tasks) killGroup(t.child, "SIGKILL");
		}
	}

	// ---- routes ----

	async #guard(res: ServerResponse, h: () => Promise<void>): Promise<void> {
		if (this.#failRequests.n > 0) {
			this.#failRequests.n--;
			return send(res, this.#failRequests.status, { message: "stand-in fault: Marathon is unavailable" });
		}
		await h();
	}

	async #body(req: IncomingMessage, res: ServerResponse, schema: Schema): Promise<Def | undefined> {
		const chunks: Buffer[] = [];
		for await (const c of req) chunks.push(c as Buffer);
		let body: unknown;
		try {
			body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
		} catch (e) {
			send(res, 400, { message: `Invalid JSON: ${(e as Error).message}` });
			return undefined;
		}
		const details = validate(schema, body);
		if (details.length > 0) {
			this.refused.push({ path: req.url ?? "", details });
			send(res, 422, { message: "Object is not valid", details });
			return undefined;
		}
		return body as Def;
	}

	async #listApps(res: ServerResponse, url: URL): Promise<void> {
		const selector = url.searchParams.get("label");
		const idPart = url.searchParams.get("id");
		const embed = new Set(url.searchParams.getAll("embed"));
		const apps = [...this.apps.values()].filter(
			(a) =>
				(!selector || matches(selector, a.def.labels as Record<string, string> | undefined)) &&
				(!idPart || a.def.id.includes(idPart)),
		);
		send(res, 200, {
			apps: apps.map((a) =>
				this.#appJson(a, { tasks: embed.has("apps.tasks"), failure: embed.has("apps.lastTaskFailure") }),
			),
		});
	}

	async #getAppPath(res: ServerResponse, url: URL): Promise<void> {
		const rest = decodeURIComponent(url.pathname.slice("/v2/apps".length));
		const m = /^(.*?)\/(tasks|versions)(?:\/([^/]+))?$/.exec(rest);
		if (m) {
			const app = this.apps.get(absolute(m[1]!));
			if (!app) return send(res, 404, { message: `App '${absolute(m[1]!)}' does not exist` });
			if (m[2] === "tasks") return send(res, 200, { tasks: app.tasks.map(taskJson) });
			if (!m[3]) return send(res, 200, { versions: [...app.versions.keys()].reverse() });
			const def = app.versions.get(m[3]);
			if (!def) return send(res, 404, { message: `App '${app.def.id}' does not exist in version ${m[3]}` });
			return send(res, 200, { ...def, version: m[3] });
		}
		const app = this.apps.get(absolute(rest));
		if (!app) return send(res, 404, { message: `App '${absolute(rest)}' does not exist` });
		send(res, 200, { app: this.#appJson(app, { tasks: true, failure: true }) });
	}

	async #createApp(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const def = await this.#body(req, res, APP_SCHEMA);
		if (!def) return;
		const id = absolute(def.id);
		if (this.apps.has(id)) return send(res, 409, { message: `An app with id [${id}] already exists.` });
		const dep = this.#change(id, { ...def, id });
		const app = this.apps.get(id)!;
		send(res, 201, { ...this.#appJson(app, { tasks: true, failure: false }), deployments: [{ id: dep.id }] });
	}

	async #putApp(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
		const id = absolute(decodeURIComponent(url.pathname.slice("/v2/apps".length)));
		const def = await this.#body(req, res, { ...APP_SCHEMA, required: [] });
		if (!def) return;
		if (def.id !== undefined && absolute(def.id) !== id)
			return send(res, 422, {
				message: "Object is not valid",
				details: [{ path: "/id", errors: ["The id in the body does not match the path"] }],
			});
		const locked = this.#lockedBy(id);
		if (locked.length > 0 && url.searchParams.get("force") !== "true") return sendLocked(res, locked);
		const dep = this.#change(id, { ...def, id });
		send(res, 200, { version: dep.version, deploymentId: dep.id });
	}

	async #deleteApp(res: ServerResponse, url: URL): Promise<void> {
		const id = absolute(decodeURIComponent(url.pathname.slice("/v2/apps".length)));
		if (!this.apps.has(id)) return send(res, 404, { message: `App '${id}' does not exist` });
		const locked = this.#lockedBy(id);
		if (locked.length > 0 && url.searchParams.get("force") !== "true") return sendLocked(res, locked);
		const dep = this.#change(id, null);
		send(res, 200, { version: dep.version, deploymentId: dep.id });
	}

	/** `POST /v2/apps/{id}/restart`: a deployment replacing every task (same definition, new version). */
	async #restartApp(res: ServerResponse, url: URL): Promise<void> {
		const m = /^(.*)\/restart$/.exec(decodeURIComponent(url.pathname.slice("/v2/apps".length)));
		if (!m) return send(res, 404, { message: `Route not found: POST ${url.pathname}` });
		const id = absolute(m[1]!);
		const app = this.apps.get(id);
		if (!app) return send(res, 404, { message: `App '${id}' does not exist` });
		const locked = this.#lockedBy(id);
		if (locked.length > 0 && url.searchParams.get("force") !== "true") return sendLocked(res, locked);
		const dep = this.#change(id, { ...app.def });
		send(res, 200, { version: dep.version, deploymentId: dep.id });
	}

	async #deleteTasks(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
		const body = (await this.#body(req, res, TASKS_DELETE_SCHEMA)) as unknown as
			| { ids: string[] }
			| undefined;
		if (!body) return;
		const killed: Task[] = [];
		for (const t of this.#allTasks())
			if (body.ids.includes(t.id)) {
				killed.push(t);
				if (url.searchParams.get("scale") === "true") {
					const app = this.apps.get(t.appId)!;
					app.def = { ...app.def, instances: Math.max(0, ((app.def.instances as number) ?? 1) - 1) };
				}
				this.#kill(t, { state: "TASK_KILLED", message: "killed through the API" });
			}
		send(res, 200, { tasks: killed.map(taskJson) });
	}

	async #deleteDeployment(res: ServerResponse, url: URL): Promise<void> {
		const id = decodeURIComponent(url.pathname.slice("/v2/deployments/".length));
		const dep = this.deployments.get(id);
		if (!dep) return send(res, 404, { message: `DeploymentPlan ${id} does not exist` });
		this.deployments.delete(id);
		this.#standin.publish({ eventType: "deployment_failed", timestamp: now(), id, plan: planJson(dep) });
		if (url.searchParams.get("force") === "true") return send(res, 202, {});
		// The rollback: a new deployment bringing every app back to its original definition.
		let back: Deployment | undefined;
		for (const [appId, original] of dep.original) back = this.#change(appId, original, back);
		send(res, 200, { deploymentId: back!.id, version: back!.version });
	}

	// ---- the model ----

	#lockedBy(appId: string): string[] {
		return [...this.deployments.values()].filter((d) => d.target.has(appId)).map((d) => d.id);
	}

	/** Applies a new definition (null: deletion) to an app, as (part of) a deployment. */
	#change(appId: string, def: Def | null, into?: Deployment): Deployment {
		const version = now();
		const dep: Deployment = into ?? { id: randomUUID(), version, original: new Map(), target: new Map() };
		const app = this.apps.get(appId);
		if (!dep.original.has(appId)) dep.original.set(appId, app ? app.def : null);
		dep.target.set(appId, def);
		this.deployments.set(dep.id, dep);
		if (def === null) {
			if (app) {
				clearTimeout(app.relaunch);
				app.def = { ...app.def, instances: 0 };
				for (const t of app.tasks) this.#kill(t, { state: "TASK_KILLED", message: "app deleted" });
				if (app.tasks.length === 0) {
					this.apps.delete(appId);
					this.#standin.publish({ eventType: "app_terminated_event", timestamp: now(), appId });
				}
			}
		} else {
			const armed = [...this.#failDeployment].find((p) => appId === p || appId.startsWith(`${p}/`));
			if (armed) {
				this.#failDeployment.delete(armed);
				this.#failingVersions.add(`${appId}@${version}`);
			}
			const clean: Def = { ...def, id: appId };
			delete clean.version;
			if (app) {
				app.def = clean;
				app.version = version;
				app.versions.set(version, clean);
				app.launches = 0;
				app.delayUntil = 0;
				clearTimeout(app.relaunch);
				for (const t of app.tasks)
					this.#kill(t, { state: "TASK_KILLED", message: "replaced by a new version" });
			} else
				this.apps.set(appId, {
					def: clean,
					version,
					versions: new Map([[version, clean]]),
					tasks: [],
					launches: 0,
					delayUntil: 0,
				});
			this.#converge(this.apps.get(appId)!);
		}
		queueMicrotask(() => this.#checkDeployments());
		return dep;
	}

	#converge(app: App): void {
		if (this.#closed) return;
		const want = (app.def.instances as number | undefined) ?? 1;
		const active = app.tasks.filter((t) => !t.killing);
		if (active.length >= want) {
			app.since = undefined;
			return;
		}
		app.since ??= now();
		const wait = app.delayUntil - Date.now();
		if (wait > 0) {
			clearTimeout(app.relaunch);
			app.relaunch = setTimeout(() => this.#converge(app), wait);
			return;
		}
		if (this.#starved(app.def.id)) {
			// No agent offers enough: every offer is declined, the launch waits in the queue.
			app.declined = (app.declined ?? 0) + 1;
			clearTimeout(app.relaunch);
			app.relaunch = setTimeout(() => this.#converge(app), 200);
			return;
		}
		for (let i = active.length; i < want; i++) void this.#launch(app);
	}

	#starved(appId: string): boolean {
		return [...this.#noOffers].some((p) => appId === p || appId.startsWith(`${p}/`));
	}

	async #launch(app: App): Promise<void> {
		const appId = app.def.id;
		const flat = appId.replace(/^\//, "").replace(/\//g, "_");
		const sandbox = mkdtempSync(path.join(this.#opts.dir, `${flat}.`));
		const task: Task = {
			id: `${flat}.${randomUUID()}`,
			appId,
			host: "127.0.0.1",
			state: "TASK_STAGING",
			stagedAt: now(),
			version: app.version,
			slaveId: "standin-agent-S0",
			sandbox,
		};
		app.tasks.push(task);
		app.launches++;
		this.#status(task, "TASK_STAGING");
		const def = app.def;
		try {
			for (const a of (def.fetch as Array<{ uri: string; destPath?: string }> | undefined) ?? []) {
				const r = await fetch(a.uri, { signal: AbortSignal.timeout(10_000) });
				if (!r.ok) throw new Error(`${a.uri}: HTTP ${r.status}`);
				const name = a.destPath ?? path.basename(new URL(a.uri).pathname);
				writeFileSync(path.join(sandbox, name), Buffer.from(await r.arrayBuffer()), { mode: 0o600 });
			}
		} catch (e) {
			return this.#ended(
				task,
				"TASK_FAILED",
				`Failed to fetch all URIs for container '${task.id}': ${(e as Error).message}`,
			);
		}
		if (task.killing) return this.#ended(task, task.killing.state, task.killing.message);
		if (this.#failingVersions.has(`${appId}@${task.version}`))
			return this.#ended(
				task,
				"TASK_FAILED",
				"Command exited with status 1 (stand-in fault: deployment failure)",
			);
		const cmd = [def.cmd as string | undefined, ...((def.args as string[] | undefined) ?? [])]
			.filter(Boolean)
			.join(" ");
		const env: Record<string, string> = { ...this.#opts.taskEnv };
		for (const [k, v] of Object.entries((def.env as Record<string, unknown>) ?? {}))
			if (typeof v === "string") env[k] = v;
		Object.assign(env, {
			MESOS_SANDBOX: sandbox,
			MESOS_TASK_ID: task.id,
			MARATHON_APP_ID: appId,
			MARATHON_APP_VERSION: app.version,
			HOST: task.host,
		});
		for (const [k, v] of Object.entries((def.labels as Record<string, string>) ?? {}))
			if (/^[A-Za-z0-9_]+$/.test(k)) env[`MARATHON_APP_LABEL_${k.toUpperCase()}`] = v;
		const child = spawn("sh", ["-c", cmd || "true"], {
			cwd: sandbox,
			env,
			detached: true,
			stdio: ["ignore", "pipe", "pipe"],
		});
		task.child = child;
		const log: Buffer[] = [];
		child.stdout?.on("data", (d: Buffer) => log.push(d));
		child.stderr?.on("data", (d: Buffer) => log.push(d));
		child.on("error", () => {});
		child.on("exit", (code, signal) => {
			try {
				writeFileSync(path.join(sandbox, "stdout"), Buffer.concat(log));
			} catch {} // the stand-in stopped and removed it
			if (task.dead) return; // its machine died: nobody tells
			if (task.killing) return this.#ended(task, task.killing.state, task.killing.message);
			if (code === 0) return this.#ended(task, "TASK_FINISHED", "Command exited with status 0");
			this.#ended(
				task,
				"TASK_FAILED",
				signal
					? `Command terminated with signal ${signal === "SIGKILL" ? "Killed" : signal}`
					: `Command exited with status ${code}`,
			);
		});
		task.startedAt = now();
		this.#status(task, "TASK_RUNNING");
		this.#checkDeployments();
	}

	#status(task: Task, state: string, message = ""): void {
		task.state = state;
		this.#standin.publish({
			eventType: "status_update_event",
			timestamp: now(),
			slaveId: task.slaveId,
			taskId: task.id,
			taskStatus: state,
			message,
			appId: task.appId,
			host: task.host,
			ipAddresses: [{ ipAddress: "127.0.0.1", protocol: "IPv4" }],
			ports: [],
			version: task.version,
		});
	}

	#ended(task: Task, state: string, message: string): void {
		if (TERMINAL.has(task.state)) return;
		this.#status(task, state, message);
		this.#opts.log?.(`task ${task.id}: ${state} ${message}`);
		rmSync(task.sandbox, { recursive: true, force: true });
		const app = this.apps.get(task.appId);
		if (!app) return;
		app.tasks = app.tasks.filter((t) => t !== task);
		if (state !== "TASK_FINISHED" && !(state === "TASK_KILLED" && !message.startsWith("unhealthy")))
			app.lastTaskFailure = {
				appId: task.appId,
				host: task.host,
				message,
				state,
				taskId: task.id,
				timestamp: now(),
				version: task.version,
				slaveId: task.slaveId,
			};
		const instances = (app.def.instances as number | undefined) ?? 1;
		if (instances === 0 && app.tasks.length === 0 && this.#deletedBy(task.appId)) {
			this.apps.delete(task.appId);
			this.#standin.publish({ eventType: "app_terminated_event", timestamp: now(), appId: task.appId });
		} else if (task.version === app.version && !task.killing?.message.startsWith("replaced")) {
			// Marathon keeps the app's instances: the task is relaunched after the app's backoff.
			const base = ((app.def.backoffSeconds as number | undefined) ?? 1) * 1000;
			const factor = (app.def.backoffFactor as number | undefined) ?? 1.15;
			const max = ((app.def.maxLaunchDelaySeconds as number | undefined) ?? 300) * 1000;
			app.delayUntil = Date.now() + Math.min(max, base * factor ** Math.max(0, app.launches - 1));
			this.#converge(app);
		}
		this.#checkDeployments();
	}

	#deletedBy(appId: string): boolean {
		return [...this.deployments.values()].some((d) => d.target.has(appId) && d.target.get(appId) === null);
	}

	#kill(task: Task, why: { state: string; message: string }, signal: NodeJS.Signals = "SIGTERM"): void {
		if (TERMINAL.has(task.state) || task.killing) return;
		task.killing = why;
		if (!task.child) return; // still fetching: it ends when the fetch is over
		if (task.dead) return; // the kill reaches no dead machine
		this.#status(task, "TASK_KILLING");
		killGroup(task.child, signal);
		const grace =
			((this.apps.get(task.appId)?.def.taskKillGracePeriodSeconds as number | undefined) ?? 3) * 1000;
		setTimeout(() => killGroup(task.child, "SIGKILL"), grace).unref();
	}

	#killAll(appId: string, why: { state: string; message: string }, signal: NodeJS.Signals): number {
		const tasks = this.apps.get(appId)?.tasks.filter((t) => !TERMINAL.has(t.state)) ?? [];
		for (const t of tasks) this.#kill(t, why, signal);
		return tasks.length;
	}

	#checkDeployments(): void {
		for (const dep of [...this.deployments.values()]) {
			const done = [...dep.target].every(([appId, def]) => {
				const app = this.apps.get(appId);
				if (def === null) return !app;
				if (!app) return false;
				const want = (app.def.instances as number | undefined) ?? 1;
				const running = app.tasks.filter((t) => t.version === app.version && t.state === "TASK_RUNNING");
				return running.length >= want && app.tasks.every((t) => t.version === app.version);
			});
			if (!done) continue;
			this.deployments.delete(dep.id);
			this.#standin.publish({
				eventType: "deployment_success",
				timestamp: now(),
				id: dep.id,
				plan: planJson(dep),
			});
		}
	}

	#allTasks(): Task[] {
		return [...this.apps.values()].flatMap((a) => a.tasks);
	}

	#queue() {
		return [...this.apps.values()]
			.filter((a) => a.since !== undefined)
			.map((a) => {
				const left = Math.max(0, (a.delayUntil - Date.now()) / 1000);
				const want = (a.def.instances as number | undefined) ?? 1;
				return {
					count: Math.max(0, want - a.tasks.filter((t) => !t.killing).length),
					delay: { timeLeftSeconds: Math.ceil(left), overdue: left === 0 },
					since: a.since,
					app: { ...a.def, version: a.version },
					processedOffersSummary: {
						processedOffersCount: a.declined ?? 0,
						unusedOffersCount: a.declined ?? 0,
						rejectSummaryLastOffers: a.declined
							? [
									{ reason: "InsufficientCpus", declined: a.declined, processed: a.declined },
									{ reason: "InsufficientMemory", declined: a.declined, processed: a.declined },
								]
							: [],
					},
				};
			});
	}

	#appJson(app: App, embed: { tasks: boolean; failure: boolean }) {
		const running = app.tasks.filter((t) => t.state === "TASK_RUNNING").length;
		return {
			...app.def,
			version: app.version,
			tasksStaged: app.tasks.filter((t) => t.state === "TASK_STAGING").length,
			tasksRunning: running,
			tasksHealthy: 0,
			tasksUnhealthy: 0,
			deployments: this.#lockedBy(app.def.id).map((id) => ({ id })),
			...(embed.tasks ? { tasks: app.tasks.map(taskJson) } : {}),
			...(embed.failure && app.lastTaskFailure ? { lastTaskFailure: app.lastTaskFailure } : {}),
		};
	}
}

/** Marathon's label selector: `key==value`, `key!=value`, `key` (exists), comma-separated (all must hold). */
function matches(selector: string, labels: Record<string, string> = {}): boolean {
	return selector.split(",").every((term) => {
		const ne = term.indexOf("!=");
		const eq = term.indexOf("==");
		if (ne > 0) return labels[term.slice(0, ne).trim()] !== term.slice(ne + 2).trim();
		if (eq > 0) return labels[term.slice(0, eq).trim()] === term.slice(eq + 2).trim();
		return term.trim() in labels;
	});
}

function taskJson(t: Task) {
	return {
		id: t.id,
		appId: t.appId,
		host: t.host,
		state: t.state,
		stagedAt: t.stagedAt,
		startedAt: t.startedAt,
		version: t.version,
		slaveId: t.slaveId,
		ports: [],
		ipAddresses: [{ ipAddress: "127.0.0.1", protocol: "IPv4" }],
	};
}

function planJson(d: Deployment) {
	const apps = (m: Map<string, Def | null>) => [...m.values()].filter((x): x is Def => x !== null);
	return {
		id: d.id,
		version: d.version,
		original: { id: "/", apps: apps(d.original), groups: [], dependencies: [], version: d.version },
		target: { id: "/", apps: apps(d.target), groups: [], dependencies: [], version: d.version },
		steps: [
			{
				actions: [...d.target].map(([app, def]) => ({
					action:
						def === null
							? "StopApplication"
							: d.original.get(app)
								? "RestartApplication"
								: "StartApplication",
					app,
				})),
			},
		],
	};
}

function deploymentJson(d: Deployment) {
	const plan = planJson(d);
	return {
		id: d.id,
		version: d.version,
		affectedApps: [...d.target.keys()],
		affectedPods: [],
		steps: plan.steps,
		currentActions: plan.steps[0]!.actions.map((a) => ({ ...a, readinessCheckResults: [] })),
		currentStep: 1,
		totalSteps: 1,
	};
}

function send(res: ServerResponse, status: number, body: unknown): void {
	res.writeHead(status, { "content-type": "application/json" });
	res.end(JSON.stringify(body));
}

function sendLocked(res: ServerResponse, deployments: string[]): void {
	send(res, 409, {
		message: `App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.`,
		deployments: deployments.map((id) => ({ id })),
	});
}

function killGroup(child: ChildProcess | undefined, signal: NodeJS.Signals): void {
	if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
	try {
		process.kill(-child.pid, signal);
	} catch {
		try {
			child.kill(signal);
		} catch {}
	}
}
