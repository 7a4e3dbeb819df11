// The REST gateway: authentication, the error shape `{code, type, message, data}`,
// body limits, health probes and the OpenAPI document. Routes come from the actions'
// own `rest` declarations (auto-aliases), authorisation from their `permission`.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context, Service, ServiceSchema } from "moleculer";
import { Errors } from "moleculer";
import ApiGateway from "moleculer-web";
import type { Config } from "../config/index.ts";
import { callAction } from "./support/call.ts";
import { gatewayMetadata, ownGatewayUrl } from "./support/public-url.ts";
import { storeOf } from "../mixins/store.mixin.ts";
import { buildOpenApiDocument, type RouteDescription } from "../src/api/openapi.ts";
import type { Principal } from "../src/auth/access.ts";
import { HOOK_HEADERS } from "../src/hooks/signature.ts";
import { BodyError, readJsonBody } from "../src/api/json-body.ts";
import { type PublicError, publicError, RETRY_AFTER_SECONDS, UNAVAILABLE } from "../src/api/public-error.ts";
import { matchRoute, type RestRoute } from "../src/api/route-table.ts";
import { knownRestRoutes } from "./support/route-catalog.ts";
import { clusterGauges } from "../src/ops/cluster-gauges.ts";
import { isScrapeToken, scrapeVerdict } from "../src/ops/metrics-access.ts";
import {
	type FamilySnapshot,
	MetricsRegistry,
	mergeNodeSnapshots,
	renderExposition,
} from "../src/ops/metrics.ts";
import type { NodeMetricsAnswer } from "./metrics.service.ts";
import { ROUTED_SERVICE_NAMES } from "./support/service-modules.ts";
import { RunSignals } from "./support/ui-events.ts";
import { uiRoutes, uiStaticRoute } from "./support/ui-routes.ts";
import { cookieValue, CSRF_HEADER, csrfAllows, SESSION_COOKIE } from "../src/ui/session.ts";

const { MoleculerClientError } = Errors;

/** Services whose routes must be served before the node calls itself ready. */
const ROUTED_SERVICES = ["auth", "project", "workflow"];
/** Services whose routes, when the cluster runs them, must be built before the node is ready. */
const OPTIONAL_ROUTED_SERVICES = ROUTED_SERVICE_NAMES.filter((n) => !ROUTED_SERVICES.includes(n));

type ApiThis = Service & {
	broker: any;
	logger: any;
	aliases: Array<{ action?: string; method: string; fullPath?: string; path: string; _generated?: boolean }>;
	settings: any;
	routeDescriptions(): RouteDescription[];
	principalOf(req: IncomingMessage): Promise<Principal>;
	isReady(): Promise<{ ready: boolean; reason?: string }>;
	routeProblem(): string | undefined;
	unavailableRoute(req: IncomingMessage, err: unknown, body: PublicError): Promise<boolean>;
	scrape(req: IncomingMessage): Promise<string>;
	/** moleculer-web's: answers the error (through `onError`). */
	sendError(req: IncomingMessage, res: ServerResponse, err: unknown): void;
	/** Wakes the web UI's live run streams on this node (services/support/ui-events.ts). */
	uiSignals: RunSignals;
};

/** How long the gateway waits for one node's metrics before leaving it out of a scrape. */
const NODE_METRICS_TIMEOUT_MS = 5_000;

function hasService(broker: { registry: any }, name: string): boolean {
	return broker.registry
		.getServiceList({ onlyAvailable: true })
		.some((s: { name: string }) => s.name === name);
}

/** The bearer token of a request, or "" when it carries none usable. */
function bearerToken(req: IncomingMessage): string {
	const header = req.headers.authorization;
	const token =
		typeof header === "string" && /^Bearer\s+/i.test(header) ? header.replace(/^Bearer\s+/i, "").trim() : "";
	return token.length > 512 ? "" : token;
}

type AuthedRequest = IncomingMessage & { $principal?: Principal; body?: unknown };

function sendJson(res: ServerResponse, status: number, body: unknown) {
	res.writeHead(status, {
		"Content-Type": "application/json; charset=utf-8",
		// A 503 is a moment without a service or a node: say when to come back.
		...(status === 503 ? { "Retry-After": String(RETRY_AFTER_SECONDS) } : {}),
	});
	res.end(JSON.stringify(body));
}

/** The routes every routed service declares, built once per node (see services/support/route-catalog.ts). */
let knownRoutes: Promise<RestRoute[]> | undefined;
function routeCatalog(config: Config): Promise<RestRoute[]> {
	knownRoutes ??= knownRestRoutes(config, "/api/v1");
	return knownRoutes;
}

/** The request's path as the client sent it (moleculer-web rewrites `req.url` per route), no query. */
function requestPath(req: IncomingMessage): string {
	return ((req as { originalUrl?: string }).originalUrl ?? req.url ?? "").split("?")[0]!;
}

export default function ApiService(
	config: Config,
): ServiceSchema<any, Record<string, any>, Record<string, any>, ApiThis> {
	return {
		name: "api",
		mixins: [ApiGateway],
		// Other nodes give workers and webhooks this URL (services/support/public-url.ts).
		metadata: gatewayMetadata(config),
		settings: {
			port: config.apiPort,
			ip: config.apiHost,
			log4XXResponses: false,
			logRequest: "debug",
			logResponse: "debug",
			logRouteRegistration: "debug",
			debounceTime: 100,
			httpServerTimeout: config.requestTimeoutMs + 5_000,
			routes: [
				// The probes are open, at the root and (where the API's users look for them) under /api/v1.
				...["/health", "/api/v1/health"].map((path) => ({
					path,
					authentication: false,
					mappingPolicy: "restrict" as const,
					bodyParsers: { json: false, urlencoded: false },
					aliases: {
						"GET live"(this: ApiThis, _req: IncomingMessage, res: ServerResponse) {
							sendJson(res, 200, { status: "live", node: this.broker.nodeID });
						},
						async "GET ready"(this: ApiThis, _req: IncomingMessage, res: ServerResponse) {
							const r = await this.isReady();
							sendJson(
								res,
								r.ready ? 200 : 503,
								r.ready ? { status: "ready" } : { status: "starting", reason: r.reason },
							);
						},
					},
				})),
				// Prometheus scrapes the whole cluster here: every node's metrics, merged (docs/metrics.md).
				// Authenticated by the handler: a system administrator token or CDS_METRICS_TOKEN.
				{
					path: "/metrics",
					authentication: false,
					mappingPolicy: "restrict",
					bodyParsers: { json: false, urlencoded: false },
					aliases: {
						async "GET /"(this: ApiThis, req: IncomingMessage, res: ServerResponse) {
							try {
								const text = await this.scrape(req);
								res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
								res.end(text);
							} catch (err) {
								const body = publicError(err);
								if (body.code >= 500) this.logger.error("metrics scrape failed", err);
								if (!res.headersSent) sendJson(res, body.code, body);
							}
						},
					},
				},
				// Repository webhooks: no bearer token (providers cannot send one); the `hook-webhook` service
				// verifies the provider's signature over the exact bytes, so the body stays raw here.
				{
					path: "/api/v1/hooks",
					authentication: false,
					mappingPolicy: "restrict",
					mergeParams: false,
					bodyParsers: { json: false, urlencoded: false, raw: { type: "*/*", limit: "1MB" } },
					aliases: {
						async "POST repository/:uuid"(
							this: ApiThis,
							req: IncomingMessage & { body?: unknown; $params?: { params?: { uuid?: string } } },
							res: ServerResponse,
						) {
							try {
								const headers: Record<string, string> = {};
								for (const name of HOOK_HEADERS) {
									const value = req.headers[name];
									if (typeof value === "string") headers[name] = value;
								}
								const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
								const result = await callAction(this.broker, "hook-webhook.receive", {
									uuid: req.$params?.params?.uuid ?? "",
									headers,
									body: body.toString("base64"),
								});
								sendJson(res, result.status, result.body);
							} catch (err) {
								const body = publicError(err);
								if (body.code >= 500) this.logger.error("webhook failed", req.url, err);
								if (!res.headersSent) sendJson(res, body.code, body);
							}
						},
					},
				},
				// The web UI's session exchange and live run streams (services/support/ui-routes.ts).
				...uiRoutes(config),
				{
					path: "/api/v1",
					authentication: true,
					autoAliases: true,
					mappingPolicy: "restrict",
					whitelist: [...ROUTED_SERVICE_NAMES.map((n) => `${n}.*`), "api.openapi"],
					aliases: { "GET openapi.json": "api.openapi" },
					// No moleculer-web body parser: they run before `authenticate`, so an anonymous client
					// could make the node parse megabytes. `use` runs first and checks the token, then reads
					// a JSON body itself (size and nesting capped); other bodies stay streams for their action.
					bodyParsers: false,
					use: [
						function authenticateThenParse(
							this: ApiThis,
							req: AuthedRequest,
							_res: ServerResponse,
							next: (err?: unknown) => void,
						) {
							this.principalOf(req)
								.then(async (principal) => {
									req.$principal = principal;
									const body = await readJsonBody(req, config.maxBodyBytes);
									req.body = body === undefined ? {} : body;
								})
								.then(
									() => next(),
									(err: unknown) =>
										next(
											err instanceof BodyError
												? new MoleculerClientError(err.message, err.code, err.type)
												: err,
										),
								);
						},
					],
					// Path parameters win over body fields of the same name (no project switching via body).
					mergeParams: true,
					onAfterCall(
						ctx: Context,
						_route: unknown,
						req: IncomingMessage,
						_res: ServerResponse,
						data: unknown,
					) {
						// moleculer-web wants a Location for 201; the request's URL when the action gave none.
						const meta = ctx.meta as Record<string, unknown>;
						if (meta.$statusCode === 201 && !meta.$location)
							meta.$location = (req as { originalUrl?: string }).originalUrl ?? req.url;
						return data;
					},
					onBeforeCall(
						ctx: Context,
						_route: unknown,
						req: IncomingMessage & { query?: Record<string, unknown> },
					) {
						// Streamed bodies (artifact uploads) lose the query string and headers otherwise.
						const meta = ctx.meta as Record<string, unknown>;
						meta.$query = req.query ?? {};
						const checksum = req.headers["x-checksum-sha256"];
						if (typeof checksum === "string") meta.$requestHeaders = { "x-checksum-sha256": checksum };
					},
				},
				// The web UI's static files at `/`: last, it sees only what no route above took.
				...uiStaticRoute(config),
			],
			onError(this: ApiThis, req: IncomingMessage, res: ServerResponse, err: unknown) {
				const body = publicError(err);
				const send = (answer: PublicError) => {
					if (answer.code >= 500 && answer.code !== 503)
						this.logger.error("request failed", req.method, req.url, err);
					if (!res.headersSent) sendJson(res, answer.code, answer);
				};
				if (body.code !== 404) return send(body);
				// A route whose service is away (not registered yet, its node just died) is a 503, not a 404.
				this.unavailableRoute(req, err, body).then(
					(away) => send(away ? { ...UNAVAILABLE } : body),
					() => send(body),
				);
			},
		},

		actions: {
			openapi: {
				visibility: "published",
				permission: { level: "authenticated" },
				params: {},
				handler(this: ApiThis) {
					return buildOpenApiDocument(this.routeDescriptions(), {
						title: "CDS-TS API",
						version: "1",
						serverUrl: `${ownGatewayUrl(config).url}/api/v1`,
					});
				},
			},
		},

		events: {
			// Signals for the web UI's live streams on this node; the streams read the store themselves.
			"run.updated"(this: ApiThis, ctx: Context<{ runId?: string; project?: string; workflow?: string }>) {
				this.uiSignals.notify(ctx.params.runId);
				this.uiSignals.notify(`${ctx.params.project}/${ctx.params.workflow}`);
			},
			"run.created"(this: ApiThis, ctx: Context<{ project?: string; workflow?: string }>) {
				this.uiSignals.notify(`${ctx.params.project}/${ctx.params.workflow}`);
			},
			"job.updated"(this: ApiThis, ctx: Context<{ runId?: string }>) {
				this.uiSignals.notify(ctx.params.runId);
			},
			"job.logs"(this: ApiThis, ctx: Context<{ runId?: string }>) {
				this.uiSignals.notify(ctx.params.runId);
			},
		},

		created(this: ApiThis) {
			this.uiSignals = new RunSignals();
		},

		started(this: ApiThis) {
			// Read the route catalog now, so the first request after a node loss does not wait for it.
			// A node without a transporter loses no node: it reads the catalog when a 404 needs it,
			// rather than load every routed service's modules at start (~100 ms of each `cds run`).
			if (config.natsUrl) routeCatalog(config).catch((e) => this.logger.warn("route catalog unavailable", e));
		},

		methods: {
			/**
			 * moleculer-web's handler logged every 5xx with its stack before `onError` answered. A node
			 * lost or a service away (503) and a timeout (504) are the cluster's weather, answered with a
			 * retry hint: one warning line. Other errors are logged by `onError`, once.
			 */
			errorHandler(this: ApiThis, req: IncomingMessage, res: ServerResponse, err: unknown) {
				const e = err as { code?: unknown; name?: string; message?: string };
				if (e?.code === 503 || e?.code === 504)
					this.logger.warn(`${req.method} ${requestPath(req)}: ${e.code} ${e.name}: ${e.message}`);
				this.sendError(req, res, err);
			},
			/**
			 * Whether a 404 means "no service answers this route right now" rather than "no such route":
			 * moleculer-web answers "Not found" before it has built its routes, and once the last node of a
			 * service is gone its auto-aliases forget the routes too.
			 */
			async unavailableRoute(this: ApiThis, req: IncomingMessage, err: unknown, body: PublicError) {
				if ((err as { name?: string }).name !== "NotFoundError" || body.message !== "Not found") return false;
				// A declared route moleculer-web does not match is one whose aliases are not (or no longer) built.
				const path = requestPath(req);
				return matchRoute(await routeCatalog(config), req.method ?? "GET", path) !== undefined;
			},

			/** The exposition of every node's metrics and the cluster's gauges, for an allowed scraper. */
			async scrape(this: ApiThis, req: IncomingMessage): Promise<string> {
				const token = bearerToken(req);
				if (!token) throw new MoleculerClientError("missing bearer token", 401, "UNAUTHORIZED");
				if (!isScrapeToken(token, config.metrics.token)) {
					const verdict = scrapeVerdict(await callAction(this.broker, "auth.resolve", { token }));
					if (!verdict.allowed)
						throw new MoleculerClientError(
							verdict.message,
							verdict.code,
							verdict.code === 401 ? "UNAUTHORIZED" : "FORBIDDEN",
						);
				}
				const nodeIds = new Set<string>();
				for (const s of this.broker.registry.getServiceList({ onlyAvailable: true }) as Array<{
					name: string;
					nodeID: string;
				}>)
					if (s.name === "$metrics") nodeIds.add(s.nodeID);
				const answers = await Promise.all(
					[...nodeIds].map((nodeID) =>
						this.broker.call("$metrics.node", {}, { nodeID, timeout: NODE_METRICS_TIMEOUT_MS }).then(
							(a: NodeMetricsAnswer) => a,
							(e: Error) => {
								this.logger.warn(`metrics of node ${nodeID} left out: ${e.message}`);
								return undefined;
							},
						),
					),
				);
				const answered = answers.filter((a): a is NodeMetricsAnswer => a !== undefined);
				const scrape = new MetricsRegistry();
				const nodes = scrape.gauge(
					"cds_metrics_nodes",
					"Nodes asked for their metrics by this scrape, by whether they answered",
					["state"],
				);
				nodes.labels("answered").set(answered.length);
				nodes.labels("failed").set(nodeIds.size - answered.length);
				let cluster: FamilySnapshot[] = [];
				try {
					cluster = await clusterGauges(storeOf(this.broker));
				} catch (e) {
					this.logger.warn(`metrics: cluster gauges not read from the store: ${(e as Error).message}`);
				}
				return renderExposition([...scrape.snapshot(), ...cluster, ...mergeNodeSnapshots(answered)]);
			},

			/** Resolved once per request, before the body is read (see the /api/v1 route's `use`). */
			async authenticate(
				this: ApiThis,
				_ctx: Context,
				_route: unknown,
				req: AuthedRequest,
			): Promise<Principal> {
				return req.$principal ?? this.principalOf(req);
			},

			/**
			 * Who makes a request: its bearer token, else the web UI's session cookie (docs/ui.md) — whose
			 * writes must carry the session's CSRF token in a header, which no cross-site page can add.
			 */
			async principalOf(this: ApiThis, req: IncomingMessage): Promise<Principal> {
				const token = bearerToken(req);
				const caller = (req as IncomingMessage & { $ctx?: Context }).$ctx ?? this.broker;
				const session = !token && config.ui.enabled ? cookieValue(req.headers.cookie, SESSION_COOKIE) : "";
				if (session) {
					const found = await callAction(caller, "auth.resolveSession", { session });
					if (!found) throw new MoleculerClientError("session expired or signed out", 401, "UNAUTHORIZED");
					if (!csrfAllows(req.method, req.headers[CSRF_HEADER], found.csrf))
						throw new MoleculerClientError("missing or wrong CSRF token", 403, "CSRF");
					return found.principal;
				}
				if (!token) throw new MoleculerClientError("missing bearer token", 401, "UNAUTHORIZED");
				const principal = await callAction(caller, "auth.resolve", { token });
				if (!principal)
					throw new MoleculerClientError("invalid, revoked or expired token", 401, "UNAUTHORIZED");
				return principal;
			},

			routeDescriptions(this: ApiThis): RouteDescription[] {
				const actions = this.broker.registry.getActionList({
					onlyAvailable: false,
					withEndpoints: false,
				}) as Array<{
					name: string;
					action?: {
						rest?: string | { type?: string };
						params?: Record<string, unknown>;
						summary?: string;
						description?: string;
						permission?: any;
					};
				}>;
				const byName = new Map(actions.map((a) => [a.name, a.action]));
				const seen = new Set<string>();
				const routes: RouteDescription[] = [];
				for (const alias of this.aliases) {
					if (!alias.action || !alias.fullPath?.startsWith("/api/v1")) continue;
					const key = `${alias.method} ${alias.fullPath}`;
					if (seen.has(key)) continue;
					seen.add(key);
					const def = byName.get(alias.action);
					routes.push({
						action: alias.action,
						method: alias.method === "*" ? "GET" : alias.method,
						path: alias.fullPath.slice("/api/v1".length) || "/",
						params: (def?.params ?? {}) as Record<string, unknown>,
						summary: def?.summary,
						...(def?.description ? { description: def.description } : {}),
						permission: def?.permission,
						stream: typeof def?.rest === "object" && def.rest.type === "stream",
					});
				}
				return routes;
			},

			/** Why the routes are not all served yet, or undefined when they are. */
			routeProblem(this: ApiThis): string | undefined {
				for (const name of ROUTED_SERVICES) {
					if (!hasService(this.broker, name)) return `service ${name} not available`;
				}
				const routed = new Set(this.aliases.filter((a) => a.action).map((a) => a.action!.split(".")[0]));
				for (const name of [...ROUTED_SERVICES, ...OPTIONAL_ROUTED_SERVICES]) {
					if (!hasService(this.broker, name)) continue;
					if (!routed.has(name)) return `routes of ${name} not built yet`;
				}
				return undefined;
			},

			async isReady(this: ApiThis) {
				const problem = this.routeProblem();
				if (problem) return { ready: false, reason: problem };
				try {
					if (this.broker.getLocalService("auth") || this.broker.getLocalService("project")) {
						await storeOf(this.broker).collection({ name: "health" });
					}
				} catch (e) {
					return { ready: false, reason: `store unavailable: ${(e as Error).message}` };
				}
				return { ready: true };
			},
		},
	};
}
