// The gateway's web UI routes (docs/ui.md): the static UI at `/`, the session exchange at
// `/api/v1/ui/session` and the live run stream at `/api/v1/ui/projects/…/runs/:number/events`.
// They sit beside the API's own route; API routes accept the session cookie via the gateway's
// `principalOf` (services/api.service.ts), with the CSRF header on writes.

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { stripTypeScriptTypes } from "node:module";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import type { Context, ServiceBroker } from "moleculer";
import { Errors } from "moleculer";
import type { Config } from "../../config/index.ts";
import { BodyError, readJsonBody } from "../../src/api/json-body.ts";
import { publicError } from "../../src/api/public-error.ts";
import { type Principal, isSystemAdmin } from "../../src/auth/access.ts";
import { type Asset, assetFor, SECURITY_HEADERS } from "../../src/ui/assets.ts";
import { cookieValue, CSRF_HEADER, csrfAllows, SESSION_COOKIE, sessionCookie } from "../../src/ui/session.ts";
import { callAction } from "./call.ts";
import { type RunSignals, streamRun, streamWorkflowRuns } from "./ui-events.ts";

const { MoleculerClientError } = Errors;

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const UI_DIR = path.join(ROOT, "ui");
const SHARED_DIR = path.join(ROOT, "src", "ui");

export interface UiHost {
	broker: ServiceBroker;
	logger: { error(...a: unknown[]): void; warn(...a: unknown[]): void };
	uiSignals: RunSignals;
	principalOf(req: IncomingMessage): Promise<Principal>;
}

type UiRequest = IncomingMessage & { $ctx?: Context; $params?: { params?: Record<string, string> } };

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
	res.writeHead(status, {
		...SECURITY_HEADERS,
		"Content-Type": "application/json; charset=utf-8",
		"Cache-Control": "no-store",
		...headers,
	});
	res.end(body === undefined ? "" : JSON.stringify(body));
}

function fail(host: UiHost, req: IncomingMessage, res: ServerResponse, err: unknown) {
	const body = publicError(
		err instanceof BodyError ? new MoleculerClientError(err.message, err.code, err.type) : err,
	);
	if (body.code >= 500 && body.code !== 503) host.logger.error("UI request failed", req.method, req.url, err);
	if (!res.headersSent) send(res, body.code, body);
	else res.end();
}

/** What the UI shows of who signed in: the API's own answer to GET /auth/me. */
const present = (p: Principal) => ({ id: p.id, role: p.role, project: p.project, admin: isSystemAdmin(p) });

/** Served files, read once per node (the UI does not change while a node runs). */
const cache = new Map<string, Promise<{ body: Buffer; etag: string }>>();

async function load(asset: Asset): Promise<{ body: Buffer; etag: string }> {
	const key = asset.kind === "file" ? `f:${asset.file}` : `m:${asset.module}`;
	let entry = cache.get(key);
	if (!entry) {
		entry = (async () => {
			const body =
				asset.kind === "file"
					? await readFile(path.join(UI_DIR, asset.file))
					: Buffer.from(
							stripTypeScriptTypes(await readFile(path.join(SHARED_DIR, `${asset.module}.ts`), "utf8")),
						);
			return { body, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"` };
		})();
		cache.set(key, entry);
		entry.catch(() => cache.delete(key));
	}
	return entry;
}

/** Whether cookies must be Secure: the request came over TLS, or the public URL is https. */
function overTls(config: Config, req: IncomingMessage): boolean {
	return (
		Boolean((req.socket as { encrypted?: boolean }).encrypted) || /^https:/i.test(config.publicUrl ?? "")
	);
}

export function uiRoutes(config: Config) {
	if (!config.ui.enabled) return [];
	const sessionMs = config.ui.sessionMs;
	return [
		{
			path: "/api/v1/ui",
			authentication: false,
			mappingPolicy: "restrict" as const,
			mergeParams: false,
			bodyParsers: { json: false, urlencoded: false },
			aliases: {
				/** Sign-in: an API token (JSON body) for a session cookie. JSON only, so no cross-site form can sign anyone in. */
				async "POST session"(this: UiHost, req: UiRequest, res: ServerResponse) {
					try {
						if (!/^application\/json\b/i.test(String(req.headers["content-type"] ?? "")))
							throw new MoleculerClientError(
								"sign in with a JSON body {token}",
								415,
								"UNSUPPORTED_MEDIA_TYPE",
							);
						const body = (await readJsonBody(req, 4096)) as { token?: unknown } | undefined;
						const token = typeof body?.token === "string" ? body.token.trim() : "";
						if (!token || token.length > 512)
							throw new MoleculerClientError("a token is required", 422, "VALIDATION_ERROR");
						const opened = await callAction(req.$ctx ?? this.broker, "auth.openSession", {
							token,
							ttlMs: sessionMs,
						});
						if (!opened)
							throw new MoleculerClientError("invalid, revoked or expired token", 401, "UNAUTHORIZED");
						send(
							res,
							201,
							{ user: present(opened.principal), csrf: opened.csrf, expiresAt: opened.expiresAt },
							{
								"Set-Cookie": sessionCookie(opened.session, {
									maxAgeSeconds: sessionMs / 1000,
									secure: overTls(config, req),
								}),
							},
						);
					} catch (err) {
						fail(this, req, res, err);
					}
				},
				/** Who the session is, and the CSRF token its writes carry (readable only by this origin's scripts). */
				async "GET session"(this: UiHost, req: UiRequest, res: ServerResponse) {
					try {
						const session = cookieValue(req.headers.cookie, SESSION_COOKIE);
						const found = session
							? await callAction(req.$ctx ?? this.broker, "auth.resolveSession", { session })
							: null;
						if (!found) throw new MoleculerClientError("not signed in", 401, "UNAUTHORIZED");
						send(res, 200, { user: present(found.principal), csrf: found.csrf, expiresAt: found.expiresAt });
					} catch (err) {
						fail(this, req, res, err);
					}
				},
				/** Sign-out: the stored session is deleted and the cookie cleared. A write: the CSRF header is required. */
				async "DELETE session"(this: UiHost, req: UiRequest, res: ServerResponse) {
					try {
						const session = cookieValue(req.headers.cookie, SESSION_COOKIE);
						if (session) {
							const found = await callAction(req.$ctx ?? this.broker, "auth.resolveSession", { session });
							if (found && !csrfAllows(req.method, req.headers[CSRF_HEADER], found.csrf))
								throw new MoleculerClientError("missing or wrong CSRF token", 403, "CSRF");
							await callAction(req.$ctx ?? this.broker, "auth.closeSession", { session });
						}
						res.setHeader(
							"Set-Cookie",
							sessionCookie("", { maxAgeSeconds: 0, secure: overTls(config, req) }),
						);
						send(res, 204, undefined);
					} catch (err) {
						fail(this, req, res, err);
					}
				},
				/** A workflow's newest runs, live (Server-Sent Events): session cookie or bearer token. */
				async "GET projects/:key/workflows/:name/events"(this: UiHost, req: UiRequest, res: ServerResponse) {
					try {
						const principal = await this.principalOf(req);
						const p = req.$params?.params ?? {};
						await streamWorkflowRuns(
							this.broker,
							req.$ctx ?? this.broker,
							this.uiSignals,
							principal,
							{ key: String(p.key ?? ""), name: String(p.name ?? "") },
							req,
							res,
						);
					} catch (err) {
						fail(this, req, res, err);
					}
				},
				/** The live run (Server-Sent Events; src/ui/sse.ts): session cookie or bearer token. */
				async "GET projects/:key/workflows/:name/runs/:number/events"(
					this: UiHost,
					req: UiRequest,
					res: ServerResponse,
				) {
					try {
						const principal = await this.principalOf(req);
						const p = req.$params?.params ?? {};
						await streamRun(
							this.broker,
							req.$ctx ?? this.broker,
							this.uiSignals,
							principal,
							{ key: String(p.key ?? ""), name: String(p.name ?? ""), number: String(p.number ?? "") },
							req,
							res,
						);
					} catch (err) {
						fail(this, req, res, err);
					}
				},
			},
		},
	];
}

/** The route serving the UI's files; last, so it only sees paths no other route took. */
export function uiStaticRoute(config: Config) {
	if (!config.ui.enabled) return [];
	return [
		{
			path: "/",
			authentication: false,
			mappingPolicy: "restrict" as const,
			bodyParsers: { json: false, urlencoded: false },
			use: [
				function serveUi(
					this: UiHost,
					req: IncomingMessage & { originalUrl?: string },
					res: ServerResponse,
					next: (err?: unknown) => void,
				) {
					const urlPath = (req.originalUrl ?? req.url ?? "/").split("?")[0]!;
					const asset = req.method === "GET" || req.method === "HEAD" ? assetFor(urlPath) : undefined;
					if (!asset) return next(new MoleculerClientError("Not found", 404, "NOT_FOUND"));
					load(asset).then(
						({ body, etag }) => {
							const headers = {
								...SECURITY_HEADERS,
								"Content-Type": asset.type,
								ETag: etag,
								"Cache-Control": "no-cache",
							};
							if (req.headers["if-none-match"] === etag) {
								res.writeHead(304, headers);
								return res.end();
							}
							res.writeHead(200, { ...headers, "Content-Length": String(body.length) });
							res.end(req.method === "HEAD" ? undefined : body);
						},
						(err: NodeJS.ErrnoException) =>
							next(
								err.code === "ENOENT" || err.code === "EISDIR"
									? new MoleculerClientError("Not found", 404, "NOT_FOUND")
									: err,
							),
					);
				},
			],
		},
	];
}
