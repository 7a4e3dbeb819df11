// STAND-IN for Marathon (mesosphere/marathon), for tests only: Marathon does not install on these
// machines. It serves what CDS-TS reads of Marathon, shaped as Marathon's documentation shows it
// (docs/docs/event-bus.md and the REST API reference):
//
//   GET /v2/events   the event stream: Server-Sent Events (`event: <eventType>` + `data: <JSON>`),
//                    `?event_type=` (repeatable) keeps only those types, an
//                    `event_stream_attached` event first, as Marathon sends one to each subscriber;
//                    HTTP basic auth when the stand-in is given credentials (401 otherwise).
//
// Tests publish events with `publish()` and the builders below (`statusUpdate`, `instanceChanged`,
// `unhealthyInstanceKill`, `deploymentFailed`), and cut every open stream with `cutStreams()`.
//
// The apps, deployments, tasks and queue APIs are in ./apps.ts (`new MarathonApps(standin, …)`),
// mounted through `route()` (`METHOD /prefix/*` routes serve the paths under a prefix: app ids
// hold slashes); with it, the events published are those of real apps and tasks, and tests may
// still publish made-up ones.
//
// What it does NOT model: the deprecated callback subscriptions; leader election and
// `/v2/leader` redirects; Marathon's keep-alive comments and its slow-consumer disconnection; the
// `plan-format=light` parameter; the groups, pods and info APIs. (What the apps part does not
// model: ./apps.ts.)

import { randomUUID } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";

export type MarathonStandinEvent = { eventType: string; timestamp: string } & Record<string, unknown>;

export type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

export interface MarathonStandinOptions {
	/** Basic auth the stand-in requires, as Marathon with `--http_credentials`. */
	credentials?: { username: string; password: string };
}

export class MarathonStandin {
	readonly server: http.Server;
	#routes = new Map<string, Route>();
	#streams = new Set<{ res: ServerResponse; types: Set<string> | null }>();
	#credentials: MarathonStandinOptions["credentials"];
	/** Every subscription opened on /v2/events (its query), in order. */
	readonly subscriptions: Array<{ eventTypes: string[]; authorization: string | null }> = [];
	url = "";

	constructor(options: MarathonStandinOptions = {}) {
		this.#credentials = options.credentials;
		this.server = http.createServer((req, res) => void this.#handle(req, res));
		this.route("GET /v2/events", (req, res, url) => this.#subscribe(req, res, url));
	}

	/** Serves `METHOD /path` (exact path), or `METHOD /prefix/*` (every path under it), with `handler`. */
	route(key: string, handler: Route): void {
		this.#routes.set(key, handler);
	}

	async start(port = 0): Promise<string> {
		await new Promise<void>((resolve) => this.server.listen(port, "127.0.0.1", resolve));
		const address = this.server.address() as { port: number };
		this.url = `http://127.0.0.1:${address.port}`;
		return this.url;
	}

	async stop(): Promise<void> {
		this.cutStreams();
		this.server.closeAllConnections();
		await new Promise<void>((resolve) => this.server.close(() => resolve()));
	}

	/** How many event streams are open now. */
	get streams(): number {
		return this.#streams.size;
	}

	/** Sends an event to every open stream that asked for its type. */
	publish(event: MarathonStandinEvent): number {
		let sent = 0;
		for (const s of this.#streams) {
			if (s.types && !s.types.has(event.eventType)) continue;
			s.res.write(`event: ${event.eventType}\ndata: ${JSON.stringify(event)}\n\n`);
			sent++;
		}
		return sent;
	}

	/** Ends every open stream abruptly (a Marathon restart, a network cut). */
	cutStreams(): void {
		for (const s of this.#streams) s.res.socket?.destroy();
		this.#streams.clear();
	}

	async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const url = new URL(req.url ?? "/", "http://standin");
		if (this.#credentials) {
			const expected = `Basic ${Buffer.from(`${this.#credentials.username}:${this.#credentials.password}`).toString("base64")}`;
			if (req.headers.authorization !== expected) {
				res.writeHead(401, {
					"content-type": "application/json",
					"www-authenticate": 'Basic realm="Mesosphere"',
				});
				res.end(JSON.stringify({ message: "Invalid username or password." }));
				return;
			}
		}
		// `METHOD /prefix/*` routes serve every path under the prefix (app ids hold slashes).
		let route = this.#routes.get(`${req.method} ${url.pathname}`);
		if (!route)
			for (const [key, handler] of this.#routes)
				if (key.endsWith("/*") && `${req.method} ${url.pathname}`.startsWith(key.slice(0, -1))) {
					route = handler;
					break;
				}
		if (!route) {
			res.writeHead(404, { "content-type": "application/json" });
			res.end(JSON.stringify({ message: `Route not found: ${req.method} ${url.pathname}` }));
			return;
		}
		await route(req, res, url);
	}

	#subscribe(req: IncomingMessage, res: ServerResponse, url: URL): void {
		const types = url.searchParams.getAll("event_type");
		this.subscriptions.push({ eventTypes: types, authorization: req.headers.authorization ?? null });
		res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
		res.flushHeaders();
		const stream = { res, types: types.length > 0 ? new Set(types) : null };
		const attached = {
			eventType: "event_stream_attached",
			timestamp: new Date().toISOString(),
			remoteAddress: req.socket.remoteAddress ?? "",
		};
		if (!stream.types || stream.types.has(attached.eventType))
			res.write(`event: ${attached.eventType}\ndata: ${JSON.stringify(attached)}\n\n`);
		this.#streams.add(stream);
		const gone = () => this.#streams.delete(stream);
		req.on("close", gone);
		res.on("close", gone);
	}
}

// ---- events, as Marathon's event bus documents them ----

const now = () => new Date().toISOString();

/** `status_update_event`: a task's status changed (TASK_RUNNING, TASK_FAILED, TASK_KILLED…). */
export function statusUpdate(
	appId: string,
	taskStatus: string,
	extra: Partial<{ taskId: string; host: string; timestamp: string; message: string }> = {},
): MarathonStandinEvent {
	const app = appId.replace(/^\//, "").replace(/\//g, "_");
	return {
		eventType: "status_update_event",
		timestamp: extra.timestamp ?? now(),
		slaveId: "20140909-054127-177048842-5050-1494-0",
		taskId: extra.taskId ?? `${app}.${randomUUID()}`,
		taskStatus,
		message: extra.message ?? "",
		appId,
		host: extra.host ?? "agent-1.example.org",
		ipAddresses: [{ ipAddress: "10.0.0.12", protocol: "IPv4" }],
		ports: [31372],
		version: "2014-04-04T06:26:23.051Z",
	};
}

/** `instance_changed_event`: an instance's condition changed (Running, Failed, Killed…). */
export function instanceChanged(runSpecId: string, condition: string): MarathonStandinEvent {
	const app = runSpecId.replace(/^\//, "").replace(/\//g, "_");
	return {
		eventType: "instance_changed_event",
		timestamp: now(),
		instanceId: `${app}.marathon-${randomUUID()}`,
		condition,
		runSpecId,
		agentId: "20140909-054127-177048842-5050-1494-S0",
		host: "agent-1.example.org",
		runSpecVersion: "2014-04-04T06:26:23.051Z",
	};
}

/** `unhealthy_instance_kill_event`: Marathon killed an instance that failed its health checks. */
export function unhealthyInstanceKill(
	appId: string,
	reason = "500 Internal Server Error",
): MarathonStandinEvent {
	const app = appId.replace(/^\//, "").replace(/\//g, "_");
	const instance = `${app}.marathon-${randomUUID()}`;
	return {
		eventType: "unhealthy_instance_kill_event",
		timestamp: now(),
		appId,
		taskId: `${instance}._app.1`,
		instanceId: instance,
		version: "2016-03-16T13:05:00.590Z",
		reason,
		host: "agent-1.example.org",
		slaveId: "4fb620fa-ba8d-4eb0-8ae3-f2912aaf015c-S0",
	};
}

/** `deployment_failed`: a deployment (its plan acting on `appId`) failed. */
export function deploymentFailed(appId: string): MarathonStandinEvent {
	const id = randomUUID();
	return {
		eventType: "deployment_failed",
		timestamp: now(),
		id,
		plan: {
			id,
			original: { id: "/", apps: [], groups: [], dependencies: [], version: "2014-09-09T06:30:49.667Z" },
			target: { id: "/", apps: [{ id: appId, instances: 2 }], groups: [], dependencies: [], version: now() },
			steps: [{ actions: [{ action: "ScaleApplication", app: appId }] }],
			version: now(),
		},
	};
}
