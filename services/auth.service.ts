// Owns API tokens: creation (shown once), hashed storage, resolution for the gateway,
// revocation, and the first administrator token of a fresh installation.

import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { OpenedSession, ResolvedSession, SessionDoc, TokenDoc } from "../schemas/auth.ts";
import type { JobTokenBooking } from "../schemas/run.ts";
import { pagination } from "../schemas/params.ts";
import { callAction } from "./support/call.ts";
import type { GatewayMeta } from "../schemas/meta.ts";
import { StoreMixin, storeOf } from "../mixins/store.mixin.ts";
import { publicUrlOf } from "./support/public-url.ts";
import { runtimeOf } from "./support/runtime.ts";
import { forbidden, invalid, notFound } from "./support/errors.ts";
import { paginate } from "../src/api/pagination.ts";
import { type AccessLevel, type Principal, canAccess, isSystemAdmin } from "../src/auth/access.ts";
import {
	generateJobToken,
	generateToken,
	generateTokenId,
	hashToken,
	jobOfToken,
	parseExpiry,
	sameHash,
	tokenId,
} from "../src/auth/tokens.ts";
import { firstStartBanner } from "../src/auth/first-start-banner.ts";
import { TokenCache } from "../src/auth/token-cache.ts";
import type { Collection } from "../src/store/types.ts";
import { newSecret } from "../src/ui/session.ts";

type AuthThis = Service & {
	collections: Record<string, Collection<any>>;
	tokens(): Collection<TokenDoc>;
	sessions(): Collection<SessionDoc>;
	principalOf(doc: TokenDoc | null): Principal | null;
	tokenCache: TokenCache<TokenDoc>;
	/** Job tokens' bookings, by job (see resolveJobToken). */
	jobTokenCache: TokenCache<JobTokenBooking>;
	readToken(id: string): Promise<TokenDoc | null>;
	resolveJobToken(ctx: Context, job: string, token: string): Promise<Principal | null>;
	revoked(id: string, job?: string): Promise<void>;
	present(doc: TokenDoc): Record<string, unknown>;
	ensureAdminToken(): Promise<void>;
	logger: { info(...a: unknown[]): void; warn(...a: unknown[]): void };
	broker: any;
};

const ADMIN_ENV_TOKEN_ID = "admin-env";
const ADMIN_FIRST_TOKEN_ID = "admin-first";

export default function AuthService(): ServiceSchema<
	ServiceSettingSchema,
	Record<string, any>,
	Record<string, any>,
	AuthThis
> {
	return {
		name: "auth",
		mixins: [
			StoreMixin([
				{ name: "tokens", indexes: [{ fields: ["hash"], unique: true }, { fields: ["project"] }] },
				{ name: "ui_sessions", indexes: [{ fields: ["tokenId"] }] },
			]),
		],
		settings: { rest: "/auth" },

		actions: {
			/** Used by the gateway on every request; not exposed over REST. */
			resolve: {
				idempotent: true,
				visibility: "public",
				params: { token: { type: "string", min: 1, max: 512 } },
				async handler(this: AuthThis, ctx: Context<{ token: string }>): Promise<Principal | null> {
					const job = jobOfToken(ctx.params.token);
					if (job !== undefined) return this.resolveJobToken(ctx, job, ctx.params.token);
					const hash = hashToken(ctx.params.token);
					const id = tokenId(ctx.params.token) ?? ADMIN_ENV_TOKEN_ID;
					let found = await this.readToken(id);
					// CDS_ADMIN_TOKEN may have any form, even one that looks like a token id.
					if ((!found || !sameHash(found.hash, hash)) && id !== ADMIN_ENV_TOKEN_ID) {
						found = await this.readToken(ADMIN_ENV_TOKEN_ID);
					}
					return this.principalOf(found && sameHash(found.hash, hash) ? found : null);
				},
			},

			/**
			 * The web UI's sign-in (src/ui/session.ts): an API token is exchanged for a session whose id
			 * goes into an HttpOnly cookie. Only the id's hash is stored; the session lives as long as
			 * `ttlMs`, its token, and until closed. Worker tokens cannot open one. Internal (the gateway).
			 */
			openSession: {
				params: {
					token: { type: "string", min: 1, max: 512 },
					ttlMs: { type: "number", integer: true, min: 1000 },
				},
				async handler(
					this: AuthThis,
					ctx: Context<{ token: string; ttlMs: number }>,
				): Promise<OpenedSession | null> {
					const principal = await callAction(ctx, "auth.resolve", { token: ctx.params.token });
					if (!principal || principal.job) return null;
					const session = newSecret();
					const doc: SessionDoc = {
						_id: hashToken(session),
						tokenId: principal.id,
						csrf: newSecret(),
						created: new Date().toISOString(),
						expiresAt: new Date(Date.now() + ctx.params.ttlMs).toISOString(),
					};
					// Expired sessions are deleted when presented; those never presented again go when their
					// token signs in next (no sweeper to run).
					await this.sessions().remove(
						{ tokenId: principal.id, expiresAt: { $lt: doc.created } },
						{ multi: true },
					);
					await this.sessions().insert(doc);
					return { session, csrf: doc.csrf, expiresAt: doc.expiresAt, principal };
				},
			},

			/** Who a session cookie is, while neither it nor its token has expired or been revoked. Internal. */
			resolveSession: {
				idempotent: true,
				params: { session: { type: "string", min: 16, max: 128 } },
				async handler(this: AuthThis, ctx: Context<{ session: string }>): Promise<ResolvedSession | null> {
					const doc = await this.sessions().findOne({ _id: hashToken(ctx.params.session) });
					if (!doc) return null;
					if (Date.parse(doc.expiresAt) <= Date.now()) {
						await this.sessions().remove({ _id: doc._id });
						return null;
					}
					const principal = this.principalOf(await this.readToken(doc.tokenId));
					if (!principal) return null;
					return { principal, csrf: doc.csrf, expiresAt: doc.expiresAt };
				},
			},

			/** Sign-out: the session is deleted, so its cookie opens nothing any more. Internal. */
			closeSession: {
				params: { session: { type: "string", min: 16, max: 128 } },
				async handler(this: AuthThis, ctx: Context<{ session: string }>) {
					return { closed: await this.sessions().remove({ _id: hashToken(ctx.params.session) }) };
				},
			},

			/**
			 * A token scoped to one job attempt, for the worker that runs it. Nothing is stored: the
			 * booking keeps its hash (returned), and the token is valid while the booking holds it,
			 * so it dies with the booking (this node's cache, primed below, lasts 5 s). Internal.
			 */
			issueJobToken: {
				params: {
					job: { type: "string", min: 1, max: 512 },
					run: { type: "string", min: 1, max: 512 },
					project: { type: "string", max: 64 },
					ttlSeconds: { type: "number", integer: true, min: 1 },
				},
				handler(
					this: AuthThis,
					ctx: Context<{ job: string; run: string; project: string; ttlSeconds: number }>,
				) {
					const { job, run, project, ttlSeconds } = ctx.params;
					const issued = generateJobToken(job);
					// The worker's first call comes within seconds, once the booking holds the hash: this
					// node need not read the booking back. Ending the job evicts it here as on every node.
					this.jobTokenCache.set(job, {
						id: issued.id,
						hash: issued.hash,
						project,
						run,
						expiresAt: Date.now() + ttlSeconds * 1000,
					});
					return issued;
				},
			},

			/**
			 * A finished job's token ends with its booking (removed by the run engine); the auth nodes
			 * forget what they read of it. A token of an older version, stored in `tokens` (its
			 * booking holds no hash: `stored`), is revoked there. Internal.
			 */
			revokeJobToken: {
				params: {
					id: { type: "string", min: 1, max: 128 },
					job: { type: "string", min: 1, max: 512, optional: true },
					stored: { type: "boolean", optional: true },
				},
				async handler(this: AuthThis, ctx: Context<{ id: string; job?: string; stored?: boolean }>) {
					const n = ctx.params.stored
						? await this.tokens().update({ _id: ctx.params.id }, { $set: { revoked: true } })
						: 0;
					await this.revoked(ctx.params.id, ctx.params.job);
					return { revoked: n };
				},
			},

			me: {
				rest: "GET /me",
				summary: "The principal behind the calling token",
				permission: { level: "authenticated" },
				params: {},
				handler(ctx: Context<unknown, GatewayMeta>) {
					const user = ctx.meta.user;
					if (!user) return { id: "system", role: "admin", project: null, admin: true };
					return { id: user.id, role: user.role, project: user.project, admin: isSystemAdmin(user) };
				},
			},

			create: {
				rest: "POST /tokens",
				summary: "Create a token (shown once)",
				permission: { level: "authenticated" },
				params: {
					project: { type: "string", pattern: /^[A-Z0-9]+$/, max: 64, optional: true },
					role: { type: "enum", values: ["read", "write", "admin"] },
					expires: { type: "string", max: 64, optional: true },
					name: { type: "string", max: 128, optional: true },
				},
				async handler(
					this: AuthThis,
					ctx: Context<{ project?: string; role: AccessLevel; expires?: string; name?: string }, GatewayMeta>,
				) {
					const { project, role, expires, name } = ctx.params;
					const user = ctx.meta.user;
					// Creating a token needs admin on its project; a project-less token needs a system admin.
					if (user && !canAccess(user, project ?? null, "admin")) throw forbidden();
					if (project) {
						const exists = await callAction(ctx, "project.exists", { key: project });
						if (!exists) throw notFound(`project ${project}`, { key: project });
					}
					let expiresAt: string | null = null;
					if (expires) {
						try {
							expiresAt = parseExpiry(expires).toISOString();
						} catch (e) {
							throw invalid((e as Error).message, [{ field: "expires", message: (e as Error).message }]);
						}
					}
					const id = generateTokenId();
					const token = generateToken(id);
					const doc: TokenDoc = {
						_id: id,
						hash: hashToken(token),
						project: project ?? null,
						role,
						name: name ?? "",
						created: new Date().toISOString(),
						expiresAt,
						revoked: false,
					};
					await this.tokens().insert(doc);
					(ctx.meta as GatewayMeta).$statusCode = 201;
					return { ...this.present(doc), token };
				},
			},

			list: {
				rest: "GET /tokens",
				summary: "List tokens (system admins: all; project admins: their project's)",
				permission: { level: "authenticated" },
				params: { ...pagination },
				async handler(this: AuthThis, ctx: Context<{ limit?: number; cursor?: string }, GatewayMeta>) {
					const user = ctx.meta.user;
					if (user && user.role !== "admin") throw forbidden();
					const query = !user || isSystemAdmin(user) ? {} : { project: user.project };
					return paginate(this.tokens(), query, ctx.params, (d) => this.present(d));
				},
			},

			revoke: {
				rest: "DELETE /tokens/:id",
				summary: "Revoke a token",
				permission: { level: "authenticated" },
				params: { id: { type: "string", min: 1, max: 64 } },
				async handler(this: AuthThis, ctx: Context<{ id: string }, GatewayMeta>) {
					const doc = await this.tokens().findOne({ _id: ctx.params.id });
					const user = ctx.meta.user;
					// Same answer for "absent" and "not yours": a token id reveals nothing.
					if (!doc || (user && !canAccess(user, doc.project, "admin"))) {
						if (user && !isSystemAdmin(user)) throw forbidden();
						throw notFound(`token ${ctx.params.id}`);
					}
					await this.tokens().update({ _id: doc._id }, { $set: { revoked: true } });
					await this.revoked(doc._id);
					return { id: doc._id, revoked: true };
				},
			},
		},

		events: {
			/** Another auth node revoked (or replaced) a token: forget what was read of it. */
			"auth.tokenRevoked": {
				params: {
					id: { type: "string", min: 1, max: 128 },
					job: { type: "string", min: 1, max: 512, optional: true },
				},
				handler(this: AuthThis, ctx: Context<{ id: string; job?: string }>) {
					this.tokenCache.evict(ctx.params.id);
					if (ctx.params.job) this.jobTokenCache.evict(ctx.params.job);
				},
			},
		},

		created(this: AuthThis) {
			this.tokenCache = new TokenCache<TokenDoc>();
			this.jobTokenCache = new TokenCache<JobTokenBooking>();
		},

		methods: {
			async readToken(this: AuthThis, id: string): Promise<TokenDoc | null> {
				const cached = this.tokenCache.get(id);
				if (cached) return cached;
				const found = await this.tokens().findOne({ _id: id });
				if (found) this.tokenCache.set(id, found);
				return found;
			},
			async revoked(this: AuthThis, id: string, job?: string): Promise<void> {
				this.tokenCache.evict(id);
				if (job) this.jobTokenCache.evict(job);
				await this.broker.broadcast("auth.tokenRevoked", job ? { id, job } : { id }, "auth");
			},
			/**
			 * A worker's token: valid while its job's booking holds its hash and has not expired. What
			 * the booking holds is kept 5 s like a token document (revoking evicts it on every node).
			 */
			async resolveJobToken(this: AuthThis, ctx: Context, job: string, token: string) {
				let booking = this.jobTokenCache.get(job);
				if (!booking) {
					booking = (await callAction(ctx, "run.jobToken", { job })) ?? undefined;
					if (booking) this.jobTokenCache.set(job, booking);
				}
				if (!booking || booking.expiresAt <= Date.now() || !sameHash(booking.hash, hashToken(token)))
					return null;
				return { id: booking.id, role: "read", project: booking.project, job, run: booking.run };
			},
			tokens(this: AuthThis) {
				return this.collections.tokens as Collection<TokenDoc>;
			},
			sessions(this: AuthThis) {
				return this.collections.ui_sessions as Collection<SessionDoc>;
			},
			/** The principal of a valid token document (not revoked, not expired), else null. */
			principalOf(doc: TokenDoc | null): Principal | null {
				if (!doc || doc.revoked) return null;
				if (doc.expiresAt && Date.parse(doc.expiresAt) <= Date.now()) return null;
				if (doc.job) return { id: doc._id, role: "read", project: doc.project, job: doc.job, run: doc.run };
				return { id: doc._id, role: doc.role, project: doc.project };
			},
			present(doc: TokenDoc) {
				return {
					id: doc._id,
					project: doc.project,
					role: doc.role,
					name: doc.name,
					created: doc.created,
					expiresAt: doc.expiresAt,
					revoked: doc.revoked,
				};
			},
			/**
			 * A fresh installation needs one way in. CDS_ADMIN_TOKEN, when set, is (re)installed
			 * as the system admin token; otherwise the first node to claim the bootstrap
			 * generates one and prints it once.
			 */
			async ensureAdminToken(this: AuthThis) {
				const { config } = runtimeOf(this.broker);
				const now = new Date().toISOString();
				if (config.adminToken) {
					await this.tokens().replace({
						_id: ADMIN_ENV_TOKEN_ID,
						hash: hashToken(config.adminToken),
						project: null,
						role: "admin",
						name: "CDS_ADMIN_TOKEN",
						created: now,
						expiresAt: null,
						revoked: false,
					});
					await this.revoked(ADMIN_ENV_TOKEN_ID);
					return;
				}
				const claim = await storeOf(this.broker).claim("bootstrap", "first-admin-token", this.broker.nodeID);
				if (!claim.won) return;
				if (await this.tokens().findOne({ _id: ADMIN_FIRST_TOKEN_ID })) return;
				const token = generateToken(ADMIN_FIRST_TOKEN_ID);
				await this.tokens().insert({
					_id: ADMIN_FIRST_TOKEN_ID,
					hash: hashToken(token),
					project: null,
					role: "admin",
					name: "first administrator token",
					created: now,
					expiresAt: null,
					revoked: false,
				});
				// Printed once, on purpose to stdout and not through the logger's level filter.
				process.stdout.write(
					firstStartBanner(
						token,
						publicUrlOf(this.broker, config) ?? "<the public URL of an API node>",
						config.ui.enabled,
					),
				);
			},
		},

		async started(this: AuthThis) {
			await this.ensureAdminToken();
		},
	};
}
