// Owns the link between projects and git repositories: repository managers (a provider's
// URL and token), linked repositories (clone URL, default branch, where the as-code files
// live, the webhook or poller that watches it) and each project's SSH key. Secrets (tokens,
// webhook secrets, the private key) are sealed with the master key and only opened inside
// the cluster: `get`/`byHookUuid` give the hook service the webhook secret, `readFiles`
// uses the token or key to fetch; no REST answer ever carries them (except a plain-git
// webhook secret, shown once when the link is made, since nobody else could configure it).

import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { type Context, Errors, type Service, type ServiceSchema, type ServiceSettingSchema } from "moleculer";
import type { Config } from "../config/index.ts";
import type {
	LinkedRepositoryDoc,
	ManagerDoc,
	RepositoryDoc,
	SshKeyDoc,
	StatusReport,
} from "../schemas/repository.ts";
import { branchName, entityName, pagination, projectKey } from "../schemas/params.ts";
import { type PageOptions, paginate } from "../src/api/pagination.ts";
import { callAction } from "./support/call.ts";
import type { GatewayMeta } from "../schemas/meta.ts";
import { conflict, invalid, notFound } from "./support/errors.ts";
import { runtimeOf } from "./support/runtime.ts";
import { PublicUrlMixin } from "../mixins/public-url.mixin.ts";
import { StoreMixin } from "../mixins/store.mixin.ts";
import { publicUrlOf, requirePublicUrl, runLink } from "./support/public-url.ts";
import { type Collection, type Doc, DuplicateKeyError } from "../src/store/types.ts";
import { lsRemote, refEntries } from "../src/hooks/refs.ts";
import { isCdsFile } from "../src/vcs/cds-files.ts";
import { gitAuth } from "../src/vcs/credentials.ts";
import {
	assertBranch,
	ensureBareCache,
	fetchCommit,
	readCommitInfo,
	isFullCommit,
	lsRemoteDefaultBranch,
	normaliseDir,
	readTreeFiles,
} from "../src/vcs/git.ts";
import { checkOutboundUrl, OutboundRefusedError, outboundFetcher } from "../src/net/outbound-policy.ts";
import type { GitOutbound } from "../src/vcs/git-outbound.ts";
import { gitOutboundArgs } from "../src/vcs/git-outbound.ts";
import { type CommitState, type ProviderClient, providerClient } from "../src/vcs/providers/client.ts";
import { type ManagerType, parseRemoteUrl, type RemoteUrl } from "../src/vcs/remote-url.ts";
import {
	MANAGER_TYPES,
	StatusDeduper,
	commitStateOf,
	entityRepo,
	internalRepository,
	linkRefusal,
	managerUrl,
	noClientReason,
	noWebhookWarning,
	presentManager,
	presentRepository,
	quietStatusFailure,
	repositoryId,
	sameManager,
	watchPlan,
	webhookUrl,
} from "../src/vcs/repository-link.ts";
import { generateSshKeyPair } from "../src/vcs/ssh-key.ts";

type RepositoryThis = Service & {
	collections: Record<string, Collection<any>>;
	broker: any;
	config: Config;
	fetchQueues: Map<string, Promise<unknown>>;
	/** Last commit state reported per run, so each change is reported once. */
	reportedStates: StatusDeduper;
	/** Whether file:// and local-path remotes may be linked and read (tests, single-host setups). */
	allowLocal: boolean;
	/** What git may reach for a project: CDS_OUTBOUND_ALLOW and CDS_REPOSITORY_ALLOW_LOCAL. */
	gitOutbound: GitOutbound;
	clientFor(manager: ManagerDoc, token: string): ProviderClient | null;
	managers(): Collection<ManagerDoc>;
	repositories(): Collection<LinkedRepositoryDoc>;
	sshKeys(): Collection<SshKeyDoc>;
	refsAtLink(): Collection<RefsAtLinkDoc>;
	requireRepository(id: string): Promise<LinkedRepositoryDoc>;
	fetchIntoCache(doc: LinkedRepositoryDoc, commit: string, branch?: string): Promise<string>;
	internal(doc: LinkedRepositoryDoc): RepositoryDoc;
	present(doc: LinkedRepositoryDoc): Record<string, unknown>;
	webhookUrl(uuid: string): string;
	projectKeyPair(project: string): Promise<SshKeyDoc>;
	tokenOf(project: string, manager: string): Promise<{ manager: ManagerDoc | null; token: string | null }>;
	serialised<T>(id: string, work: () => Promise<T>): Promise<T>;
};

const { MoleculerClientError } = Errors;

/** A polled repository's branches and tags when it was linked: the baseline of its first poll. */
interface RefsAtLinkDoc extends Doc {
	refs: Array<{ ref: string; commit: string }>;
	at: number;
}

/** A connection the outbound policy refuses: 400, with the message naming the setting that allows it. */
function outboundRefused(e: OutboundRefusedError) {
	return new MoleculerClientError(e.message, 400, "OUTBOUND_REFUSED", { setting: e.setting });
}

/**
 * Checks a connection before it is made on the project's behalf. A host that does not resolve
 * (yet) is let through here: the connection itself is checked again and fails then.
 */
async function mustBeAllowed(check: () => Promise<unknown>): Promise<void> {
	try {
		await check();
	} catch (e) {
		if (e instanceof OutboundRefusedError && e.reason !== "unresolved") throw outboundRefused(e);
		if (!(e instanceof OutboundRefusedError)) throw e;
	}
}

const idParam = { type: "string", pattern: /^[0-9a-f]{16,64}$/, max: 64 } as const;
const now = () => new Date().toISOString();

/** A commit of a repository (a full hash), and the branch that may bring it. */
const COMMIT_PARAMS = {
	id: { type: "string", max: 64 },
	commit: { type: "string", max: 64 },
	branch: { ...branchName, optional: true },
} as const;
type CommitQuery = { id: string; commit: string; branch?: string };

function requireFullCommit(query: CommitQuery): CommitQuery {
	if (!isFullCommit(query.commit))
		throw invalid(`"${query.commit}" is not a full commit hash`, [
			{ field: "commit", message: "expected 40 hex digits" },
		]);
	return query;
}

export default function RepositoryService(
	config: Config,
): ServiceSchema<ServiceSettingSchema, Record<string, any>, Record<string, any>, RepositoryThis> {
	return {
		name: "repository",
		mixins: [
			StoreMixin([
				{ name: "repository_managers", indexes: [{ fields: ["project"] }] },
				{ name: "repositories", indexes: [{ fields: ["project"] }, { fields: ["hookUuid"] }] },
				{ name: "project_ssh_keys" },
				{ name: "repository_refs_at_link" },
			]),
			PublicUrlMixin(config),
		],
		settings: { rest: "/projects" },

		created(this: RepositoryThis) {
			this.config = config;
			this.fetchQueues = new Map();
			this.reportedStates = new StatusDeduper();
			this.allowLocal = config.repository.allowLocal;
			this.gitOutbound = { policy: config.outbound, allowLocal: config.repository.allowLocal };
		},

		events: {
			/**
			 * Commit statuses: pending while a run of an as-code workflow goes, then success or
			 * failure. `run.updated` is emitted (not broadcast), so one replica reports each change.
			 */
			async "run.updated"(
				this: RepositoryThis,
				ctx: Context<{
					runId: string;
					project: string;
					workflow: string;
					number: number;
					status: string;
					commit: string | null;
					repositoryId: string | null;
				}>,
			) {
				const { runId, repositoryId, commit, status } = ctx.params;
				if (!repositoryId || !commit) return;
				const state = commitStateOf(status);
				if (!this.reportedStates.shouldReport(runId, state)) return;
				const result: StatusReport = await callAction(this.broker, "repository.reportStatus", {
					repositoryId,
					commit,
					state,
					context: `cds/${ctx.params.project}/${ctx.params.workflow}`,
					description: `run #${ctx.params.number}: ${status}`,
					targetUrl: runLink(this.broker, config, ctx.params.project, ctx.params.workflow, ctx.params.number),
				}).catch((e: Error) => ({ reported: false, reason: e.message }));
				if (!result.reported && !quietStatusFailure(result.reason)) {
					this.logger.warn(`commit status for ${runId}: ${result.reason}`);
				}
			},

			async "project.deleted"(this: RepositoryThis, ctx: Context<{ key: string }>) {
				const key = ctx.params.key;
				await this.repositories().remove({ project: key }, { multi: true });
				await this.managers().remove({ project: key }, { multi: true });
				await this.sshKeys().remove({ _id: key });
			},
		},

		actions: {
			listManagers: {
				rest: "GET /:key/repositories/managers",
				summary: "List the project's repository managers (tokens are never shown)",
				permission: { level: "read", project: "key" },
				params: { key: projectKey, ...pagination },
				async handler(this: RepositoryThis, ctx: Context<{ key: string } & PageOptions>) {
					return paginate(this.managers(), { project: ctx.params.key }, ctx.params, presentManager);
				},
			},

			addManager: {
				rest: "POST /:key/repositories/managers",
				summary:
					"Link the project to a repository manager (GitHub, GitLab, Gitea/Forgejo, Bitbucket Server, git)",
				permission: { level: "admin", project: "key" },
				params: {
					key: projectKey,
					name: entityName,
					type: { type: "enum", values: [...MANAGER_TYPES] },
					url: { type: "string", max: 1024, optional: true },
					token: { type: "string", max: 4096, optional: true },
				},
				async handler(
					this: RepositoryThis,
					ctx: Context<
						{ key: string; name: string; type: ManagerType; url?: string; token?: string },
						GatewayMeta
					>,
				) {
					const { key, name, type, token } = ctx.params;
					if (!(await callAction(ctx, "project.exists", { key }))) throw notFound(`project ${key}`, { key });
					const checked = managerUrl(type, ctx.params.url);
					if ("message" in checked)
						throw invalid(checked.message, [{ field: checked.field, message: checked.reason }]);
					const url = checked.url;
					// Refused now rather than at the first link: the token would go there.
					if (url) await mustBeAllowed(() => checkOutboundUrl(url, config.outbound));
					const doc: ManagerDoc = {
						_id: `${key}/${name}`,
						project: key,
						name,
						type,
						url,
						sealedToken: token ? runtimeOf(this.broker).secrets.seal(token) : null,
						created: now(),
					};
					const existing = await this.managers().findOne({ _id: doc._id });
					if (existing) {
						// Same manager again is a no-op; a different one must be removed first.
						if (sameManager(existing, type, url, token))
							return { ...presentManager(existing), created: false };
						throw conflict(`repository manager ${name} already exists with other settings`, { name });
					}
					try {
						await this.managers().insert(doc);
					} catch (e) {
						if (e instanceof DuplicateKeyError)
							throw conflict(`repository manager ${name} already exists`, { name });
						throw e;
					}
					ctx.meta.$statusCode = 201;
					return { ...presentManager(doc), created: true };
				},
			},

			removeManager: {
				rest: "DELETE /:key/repositories/managers/:name",
				summary: "Remove a repository manager no linked repository uses",
				permission: { level: "admin", project: "key" },
				params: { key: projectKey, name: entityName },
				async handler(this: RepositoryThis, ctx: Context<{ key: string; name: string }>) {
					const { key, name } = ctx.params;
					const users = await this.repositories().count({ project: key, manager: name });
					if (users > 0)
						throw conflict(`repository manager ${name} is used by ${users} linked repositories`, { name });
					if ((await this.managers().remove({ _id: `${key}/${name}` })) === 0)
						throw notFound(`repository manager ${name}`, { name });
					return { name, deleted: true };
				},
			},

			sshKey: {
				rest: "GET /:key/repositories/ssh-key",
				summary: "The project's SSH public key (add it as a deploy key); the private key never leaves CDS",
				permission: { level: "read", project: "key" },
				params: { key: projectKey },
				async handler(this: RepositoryThis, ctx: Context<{ key: string }>) {
					if (!(await callAction(ctx, "project.exists", { key: ctx.params.key })))
						throw notFound(`project ${ctx.params.key}`, { key: ctx.params.key });
					const doc = await this.projectKeyPair(ctx.params.key);
					return {
						type: "ssh-ed25519",
						publicKey: doc.publicKey,
						fingerprint: doc.fingerprint,
						created: doc.created,
					};
				},
			},

			list: {
				rest: "GET /:key/repositories",
				summary: "List the repositories linked to the project",
				permission: { level: "read", project: "key" },
				params: { key: projectKey, ...pagination },
				async handler(this: RepositoryThis, ctx: Context<{ key: string } & PageOptions>) {
					// By repository path, as before; the _id breaks ties (one path linked twice).
					return paginate(
						this.repositories(),
						{ project: ctx.params.key },
						{ ...ctx.params, order: { field: "repo" } },
						(d) => this.present(d),
					);
				},
			},

			link: {
				rest: "POST /:key/repositories",
				summary: "Link a repository: creates its application, and a webhook on the provider or a poller",
				permission: { level: "write", project: "key" },
				params: {
					key: projectKey,
					manager: entityName,
					url: { type: "string", min: 1, max: 2048 },
					application: { ...entityName, optional: true },
					defaultBranch: { type: "string", max: 255, optional: true },
					cdsDir: { type: "string", max: 512, optional: true },
					pollSeconds: { type: "number", integer: true, min: 1, max: 86_400, optional: true, convert: true },
				},
				async handler(
					this: RepositoryThis,
					ctx: Context<
						{
							key: string;
							manager: string;
							url: string;
							application?: string;
							defaultBranch?: string;
							cdsDir?: string;
							pollSeconds?: number;
						},
						GatewayMeta
					>,
				) {
					const { key } = ctx.params;
					const manager = await this.managers().findOne({ _id: `${key}/${ctx.params.manager}` });
					if (!manager)
						throw notFound(`repository manager ${ctx.params.manager}`, { manager: ctx.params.manager });
					let remote: RemoteUrl;
					let cdsDir: string;
					try {
						remote = parseRemoteUrl(ctx.params.url, "/");
						cdsDir = normaliseDir(ctx.params.cdsDir ?? ".cds");
						if (ctx.params.defaultBranch) assertBranch(ctx.params.defaultBranch);
					} catch (e) {
						throw invalid((e as Error).message, [{ field: "url", message: (e as Error).message }]);
					}
					// Before any connection: the remote (local paths need CDS_REPOSITORY_ALLOW_LOCAL) and
					// the manager's API (where the token goes) must pass the outbound policy.
					await mustBeAllowed(() => gitOutboundArgs(remote.cloneUrl, this.gitOutbound));
					if (manager.url && manager.sealedToken)
						await mustBeAllowed(() => checkOutboundUrl(manager.url, config.outbound));
					const refusal = linkRefusal(remote, manager.type, this.allowLocal);
					if (refusal) throw invalid(refusal.message, [{ field: refusal.field, message: refusal.reason }]);
					const id = repositoryId(key, remote);
					const existing = await this.repositories().findOne({ _id: id });
					if (existing) return { ...this.present(existing), created: false };

					const secrets = runtimeOf(this.broker).secrets;
					const token = manager.sealedToken ? secrets.open(manager.sealedToken) : null;
					let defaultBranch = ctx.params.defaultBranch ?? null;
					if (!defaultBranch) {
						const auth = gitAuth(remote, { token });
						defaultBranch = await lsRemoteDefaultBranch(remote.cloneUrl, {
							env: auth.env,
							timeoutMs: 15_000,
							outbound: this.gitOutbound,
						})
							.catch(() => null)
							.finally(() => auth.dispose());
					}
					const uuid = randomUUID();
					const secret = randomBytes(32).toString("hex");
					let providerHookId: string | undefined;
					let webhookError: string | null = null;
					const client = token ? this.clientFor(manager, token) : null;
					if (client) {
						try {
							providerHookId = (
								await client.createWebhook({ repo: remote.path, url: this.webhookUrl(uuid), secret })
							).id;
						} catch (e) {
							webhookError = (e as Error).message;
						}
					}
					const warning = noWebhookWarning(manager, client !== null, webhookError);
					const warnings = warning ? [warning] : [];
					const { withWebhook, poll } = watchPlan(manager.type, providerHookId, ctx.params.pollSeconds);
					const application = ctx.params.application ?? null;
					// What the poller will compare its first look with, written before the repository
					// is pollable: a commit pushed right after the link then starts a run. Best effort
					// (an unreadable remote leaves the first poll to record where it stands).
					if (poll) {
						const refs = await lsRemote(remote.cloneUrl, { outbound: this.gitOutbound, timeoutMs: 15_000 })
							.then(refEntries)
							.catch(() => null);
						if (refs) await this.refsAtLink().replace({ _id: id, refs, at: Date.now() });
					}
					const doc: LinkedRepositoryDoc = {
						_id: id,
						project: key,
						manager: manager.name,
						managerType: manager.type,
						url: remote.cloneUrl,
						repo: remote.path,
						defaultBranch: defaultBranch ?? "master",
						cdsDir,
						application,
						hookUuid: withWebhook ? uuid : null,
						webhook: withWebhook
							? { uuid, sealedSecret: secrets.seal(secret), ...(providerHookId ? { providerHookId } : {}) }
							: null,
						poll,
						created: now(),
						updated: now(),
					};
					try {
						await this.repositories().insert(doc);
					} catch (e) {
						if (!(e instanceof DuplicateKeyError)) throw e;
						// Linked concurrently: keep the winner, drop the webhook this call made.
						if (client && providerHookId)
							await client.deleteWebhook(remote.path, providerHookId).catch(() => {});
						return { ...this.present((await this.repositories().findOne({ _id: id }))!), created: false };
					}
					if (application) {
						await callAction(ctx, "project.upsertEntities", {
							key,
							entities: [
								{
									kind: "application",
									name: application,
									repository: {
										vcsServer: manager.name,
										repo: entityRepo(remote.path),
										cloneUrl: remote.cloneUrl,
									},
								},
							],
						});
					}
					ctx.meta.$statusCode = 201;
					return {
						...this.present(doc),
						created: true,
						// Nobody else can configure a plain-git hook: its secret is shown this once.
						...(manager.type === "git" && doc.webhook ? { webhookSecret: secret } : {}),
						warnings,
					};
				},
			},

			show: {
				rest: "GET /:key/repositories/:id",
				summary: "Show a linked repository",
				permission: { level: "read", project: "key" },
				params: { key: projectKey, id: idParam },
				async handler(this: RepositoryThis, ctx: Context<{ key: string; id: string }>) {
					const doc = await this.repositories().findOne({ _id: ctx.params.id, project: ctx.params.key });
					if (!doc) throw notFound(`repository ${ctx.params.id}`, { id: ctx.params.id });
					return this.present(doc);
				},
			},

			unlink: {
				rest: "DELETE /:key/repositories/:id",
				summary: "Unlink a repository (its webhook is removed from the provider when possible)",
				permission: { level: "write", project: "key" },
				params: { key: projectKey, id: idParam },
				async handler(this: RepositoryThis, ctx: Context<{ key: string; id: string }>) {
					const doc = await this.repositories().findOne({ _id: ctx.params.id, project: ctx.params.key });
					if (!doc) throw notFound(`repository ${ctx.params.id}`, { id: ctx.params.id });
					const asCode = await callAction(ctx, "workflow.repositoryUsers", { repositoryId: doc._id }).catch(
						(): string[] => [],
					);
					if (asCode.length > 0)
						throw conflict(
							`repository ${doc.repo} defines workflow ${asCode.join(", ")}: delete them first`,
							{
								workflows: asCode,
							},
						);
					let warning: string | undefined;
					if (doc.webhook?.providerHookId) {
						const { token } = await this.tokenOf(doc.project, doc.manager);
						const manager = await this.managers().findOne({ _id: `${doc.project}/${doc.manager}` });
						const client = token && manager ? this.clientFor(manager, token) : null;
						await client?.deleteWebhook(doc.repo, doc.webhook.providerHookId).catch((e: Error) => {
							warning = e.message;
						});
					}
					await this.repositories().remove({ _id: doc._id });
					await this.refsAtLink().remove({ _id: doc._id });
					return { id: doc._id, deleted: true, ...(warning ? { warning } : {}) };
				},
			},

			// ---- internal actions (no rest, no permission: callable by services only) ----

			get: {
				params: { id: { type: "string", max: 64 } },
				async handler(this: RepositoryThis, ctx: Context<{ id: string }>) {
					return this.internal(await this.requireRepository(ctx.params.id));
				},
			},

			byHookUuid: {
				idempotent: true,
				params: { uuid: { type: "string", max: 64 } },
				async handler(this: RepositoryThis, ctx: Context<{ uuid: string }>) {
					const doc = await this.repositories().findOne({ hookUuid: ctx.params.uuid });
					return doc ? this.internal(doc) : null;
				},
			},

			refsAtLink: {
				idempotent: true,
				params: { id: { type: "string", max: 64 } },
				async handler(this: RepositoryThis, ctx: Context<{ id: string }>) {
					const doc = await this.refsAtLink().findOne({ _id: ctx.params.id });
					return doc ? { refs: doc.refs } : null;
				},
			},

			listPollable: {
				idempotent: true,
				params: {},
				async handler(this: RepositoryThis) {
					const docs = await this.repositories().find({ poll: { $ne: null } });
					return docs.filter((d) => d.poll).map((d) => this.internal(d));
				},
			},

			reportStatus: {
				params: {
					repositoryId: { type: "string", max: 64 },
					commit: { type: "string", max: 64 },
					state: { type: "enum", values: ["pending", "success", "failure"] },
					context: { type: "string", max: 255 },
					description: { type: "string", max: 1024, optional: true },
					targetUrl: { type: "string", max: 2048, optional: true },
				},
				async handler(
					this: RepositoryThis,
					ctx: Context<{
						repositoryId: string;
						commit: string;
						state: CommitState;
						context: string;
						description?: string;
						targetUrl?: string;
					}>,
				) {
					const doc = await this.requireRepository(ctx.params.repositoryId);
					const { manager, token } = await this.tokenOf(doc.project, doc.manager);
					const client = manager && token ? this.clientFor(manager, token) : null;
					if (!client) return { reported: false, reason: noClientReason(doc.managerType) };
					if (!isFullCommit(ctx.params.commit)) return { reported: false, reason: "not a full commit hash" };
					try {
						await client.setCommitStatus({
							repo: doc.repo,
							commit: ctx.params.commit,
							state: ctx.params.state,
							context: ctx.params.context,
							description: ctx.params.description ?? "",
							targetUrl: ctx.params.targetUrl ?? "",
						});
						return { reported: true };
					} catch (e) {
						this.logger.warn(`commit status on ${doc.repo}: ${(e as Error).message}`);
						return { reported: false, reason: (e as Error).message };
					}
				},
			},

			/**
			 * The as-code files of a repository at a commit, read from a bare cache clone in the
			 * data directory (fetched with the manager's token or the project's SSH key).
			 */
			readFiles: {
				params: COMMIT_PARAMS,
				async handler(this: RepositoryThis, ctx: Context<CommitQuery>) {
					const doc = await this.requireRepository(ctx.params.id);
					const { commit, branch } = requireFullCommit(ctx.params);
					return this.serialised(doc._id, async () => {
						const cacheDir = await this.fetchIntoCache(doc, commit, branch);
						const files = await readTreeFiles(cacheDir, commit, doc.cdsDir, isCdsFile);
						return { commit, dir: doc.cdsDir, files };
					});
				},
			},

			/**
			 * Author and message of a commit, from the same cache: the poller's `git ls-remote`
			 * sees only commits, a webhook payload carries these.
			 */
			commitInfo: {
				params: COMMIT_PARAMS,
				async handler(this: RepositoryThis, ctx: Context<CommitQuery>) {
					const doc = await this.requireRepository(ctx.params.id);
					const { commit, branch } = requireFullCommit(ctx.params);
					return this.serialised(doc._id, async () =>
						readCommitInfo(await this.fetchIntoCache(doc, commit, branch), commit),
					);
				},
			},
		},

		methods: {
			managers(this: RepositoryThis) {
				return this.collections.repository_managers as Collection<ManagerDoc>;
			},
			repositories(this: RepositoryThis) {
				return this.collections.repositories as Collection<LinkedRepositoryDoc>;
			},
			sshKeys(this: RepositoryThis) {
				return this.collections.project_ssh_keys as Collection<SshKeyDoc>;
			},
			refsAtLink(this: RepositoryThis) {
				return this.collections.repository_refs_at_link as Collection<RefsAtLinkDoc>;
			},
			/** Brings `commit` into the repository's bare cache clone; returns the cache's path. */
			async fetchIntoCache(this: RepositoryThis, doc: LinkedRepositoryDoc, commit: string, branch?: string) {
				const cacheDir = path.join(this.config.dataDir, "repositories", `${doc._id}.git`);
				mkdirSync(path.dirname(cacheDir), { recursive: true });
				await ensureBareCache(cacheDir);
				const remote = parseRemoteUrl(doc.url, "/");
				const { token } = await this.tokenOf(doc.project, doc.manager);
				const privateKey =
					remote.kind === "ssh"
						? runtimeOf(this.broker).secrets.open((await this.projectKeyPair(doc.project)).sealedPrivateKey)
						: null;
				const auth = gitAuth(remote, { token, privateKey });
				try {
					await fetchCommit(cacheDir, doc.url, commit, branch ?? null, {
						env: auth.env,
						timeoutMs: 120_000,
						outbound: this.gitOutbound,
					});
				} catch (e) {
					throw conflict(`cannot fetch ${commit} from ${doc.repo}: ${(e as Error).message}`, {
						repositoryId: doc._id,
					});
				} finally {
					auth.dispose();
				}
				return cacheDir;
			},
			async requireRepository(this: RepositoryThis, id: string) {
				const doc = await this.repositories().findOne({ _id: id });
				if (!doc) throw notFound(`repository ${id}`, { id });
				return doc;
			},
			/** A provider client whose every request is checked, pinned and never redirected. */
			clientFor(this: RepositoryThis, manager: ManagerDoc, token: string) {
				return providerClient(manager.type, {
					baseUrl: manager.url,
					token,
					fetcher: outboundFetcher(this.config.outbound),
				});
			},
			webhookUrl(this: RepositoryThis, uuid: string) {
				return webhookUrl(requirePublicUrl(this.broker, this.config), uuid);
			},
			internal(this: RepositoryThis, doc: LinkedRepositoryDoc): RepositoryDoc {
				const secrets = runtimeOf(this.broker).secrets;
				return internalRepository(doc, (sealed) => secrets.open(sealed));
			},
			present(this: RepositoryThis, doc: LinkedRepositoryDoc) {
				return presentRepository(doc, publicUrlOf(this.broker, this.config));
			},
			async tokenOf(this: RepositoryThis, project: string, name: string) {
				const manager = await this.managers().findOne({ _id: `${project}/${name}` });
				const token = manager?.sealedToken ? runtimeOf(this.broker).secrets.open(manager.sealedToken) : null;
				return { manager, token };
			},
			async projectKeyPair(this: RepositoryThis, project: string) {
				const existing = await this.sshKeys().findOne({ _id: project });
				if (existing) return existing;
				const pair = generateSshKeyPair(`cds-${project}`);
				const doc: SshKeyDoc = {
					_id: project,
					publicKey: pair.publicKey,
					fingerprint: pair.fingerprint,
					sealedPrivateKey: runtimeOf(this.broker).secrets.seal(pair.privateKey),
					created: now(),
				};
				try {
					await this.sshKeys().insert(doc);
					return doc;
				} catch (e) {
					// Two first requests raced: the unique _id keeps exactly one key.
					if (e instanceof DuplicateKeyError) return (await this.sshKeys().findOne({ _id: project }))!;
					throw e;
				}
			},
			/** One git operation at a time per cache directory on this node. */
			serialised<T>(this: RepositoryThis, id: string, work: () => Promise<T>): Promise<T> {
				const previous = this.fetchQueues.get(id) ?? Promise.resolve();
				const next = previous.catch(() => undefined).then(work);
				const tail = next.catch(() => undefined);
				this.fetchQueues.set(id, tail);
				void tail.then(() => {
					if (this.fetchQueues.get(id) === tail) this.fetchQueues.delete(id);
				});
				return next;
			},
		},
	};
}
