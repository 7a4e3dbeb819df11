// Workflow templates: template repositories (namespaces holding templates, from an index
// URL or added one by one), versions of each template's content, rendering for a project
// (recorded as a template instance) and each project's OpenPGP key for template secrets.
// Downloads go through src/templates/fetch.ts under CDS_TEMPLATE_ALLOWED_URLS.

import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { Errors } from "moleculer";
import type { Config } from "../config/index.ts";
import type {
	TemplateEntryDoc,
	TemplateInstanceDoc,
	TemplateKeyDoc,
	TemplateRepoDoc,
	TemplateVersionDoc,
} from "../schemas/template.ts";
import { entityName, pagination, projectKey } from "../schemas/params.ts";
import { callAction } from "./support/call.ts";
import type { GatewayMeta } from "../schemas/meta.ts";
import { conflict, invalid, notFound } from "./support/errors.ts";
import { runtimeOf } from "./support/runtime.ts";
import { StoreMixin, storeOf } from "../mixins/store.mixin.ts";
import { paginate } from "../src/api/pagination.ts";
import { presentEntry, presentInstance, presentRepo, presentTemplate } from "../src/templates/present.ts";
import { decryptWithPrivateKey, generatePgpKeyPair, PgpError } from "../src/crypto/pgp.ts";
import { type Collection, DuplicateKeyError } from "../src/store/types.ts";
import { bundleHash, loadBundle, type TemplateBundle } from "../src/templates/bundle.ts";
import { fetchTemplateText, TemplateFetchError, type FetchPolicy } from "../src/templates/fetch.ts";
import { SLUG_PATTERN, TemplateFormatError } from "../src/templates/manifest.ts";
import { checkParameters, isArmoredMessage } from "../src/templates/parameters.ts";
import { parseTemplateReference, REPO_NAME_PATTERN } from "../src/templates/reference.ts";
import { renderBundle, TemplateRenderError, type RenderedFile } from "../src/templates/render.ts";
import {
	applyRequest,
	indexEntryDoc,
	instanceNumber,
	nextVersion,
	planIndexRefresh,
	recordedParams,
	shouldImport,
	templateSwitchRefusal,
	versionId,
} from "../src/templates/instances.ts";
import { parseRepositoryIndex } from "../src/templates/repository-index.ts";
import { UrlPolicyError } from "../src/templates/url-policy.ts";

const { MoleculerClientError } = Errors;

type TemplateThis = Service & {
	collections: Record<string, Collection<any>>;
	broker: any;
	policy: FetchPolicy;
	repos(): Collection<TemplateRepoDoc>;
	entries(): Collection<TemplateEntryDoc>;
	versions(): Collection<TemplateVersionDoc>;
	instances(): Collection<TemplateInstanceDoc>;
	keys(): Collection<TemplateKeyDoc>;
	download(url: string): Promise<string>;
	fetchBundle(url: string): Promise<TemplateBundle>;
	refreshIndex(repo: TemplateRepoDoc): Promise<number>;
	resolveVersion(repo: string, name: string, version?: number): Promise<TemplateVersionDoc>;
	projectKey(project: string): Promise<TemplateKeyDoc>;
	requireProject(ctx: Context, key: string): Promise<void>;
	renderFor(
		ctx: Context,
		project: string,
		workflow: string,
		template: string,
		params: Record<string, unknown>,
		force: boolean,
	): Promise<{ instance: TemplateInstanceDoc; files: RenderedFile[] }>;
};

const repoParam = { type: "string", pattern: REPO_NAME_PATTERN, max: 64 } as const;
const templateNameParam = { type: "string", pattern: SLUG_PATTERN, max: 128 } as const;
const urlParam = { type: "string", min: 1, max: 2048 } as const;
const paramsParam = {
	type: "record",
	key: { type: "string", pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, max: 128 },
	value: { type: "any" },
	optional: true,
} as const;
const now = () => new Date().toISOString();
const MAX_VERSION_ATTEMPTS = 20;

/** Download and format problems are the caller's to fix: 422 with located details. */
function asClientError(e: unknown): never {
	if (e instanceof UrlPolicyError) throw new MoleculerClientError(e.message, 403, "URL_NOT_ALLOWED");
	if (e instanceof TemplateFetchError)
		throw new MoleculerClientError(e.message, 422, "TEMPLATE_FETCH_FAILED");
	if (e instanceof TemplateFormatError || e instanceof TemplateRenderError) {
		throw invalid(
			e.message,
			e.diagnostics.map((d) => ({ ...d })),
		);
	}
	throw e;
}

export default function TemplateService(
	config?: Config,
): ServiceSchema<ServiceSettingSchema, Record<string, any>, Record<string, any>, TemplateThis> {
	return {
		name: "template",
		mixins: [
			StoreMixin([
				{ name: "template_repos" },
				{ name: "template_entries", indexes: [{ fields: ["repo"] }] },
				{ name: "template_versions", indexes: [{ fields: ["repo", "name"] }] },
				{ name: "template_instances", indexes: [{ fields: ["project"] }] },
				{ name: "template_keys" },
			]),
		],
		settings: { rest: "/templates" },

		created(this: TemplateThis) {
			this.policy = {
				prefixes: config?.templates.allowedPrefixes ?? [],
				...(config?.outbound ? { outbound: config.outbound } : {}),
			};
		},

		actions: {
			addRepo: {
				rest: "POST /repos",
				summary: "Register a template repository (an index URL, or none to add templates one by one)",
				permission: { level: "system-admin" },
				params: {
					name: repoParam,
					url: { ...urlParam, optional: true },
					description: { type: "string", max: 4096, optional: true },
				},
				async handler(
					this: TemplateThis,
					ctx: Context<{ name: string; url?: string; description?: string }, GatewayMeta>,
				) {
					const { name, url, description } = ctx.params;
					const doc: TemplateRepoDoc = {
						_id: name,
						name,
						url: url ?? null,
						description: description ?? "",
						refreshed: null,
						created: now(),
						updated: now(),
					};
					// Read the index first: a repository that cannot be read is not registered.
					const entries = url
						? await this.download(url)
								.then((t) => parseRepositoryIndex(url, t))
								.catch(asClientError)
						: [];
					try {
						await this.repos().insert(doc);
					} catch (e) {
						if (e instanceof DuplicateKeyError)
							throw conflict(`template repository ${name} already exists`, { name });
						throw e;
					}
					for (const entry of entries) await this.entries().replace(indexEntryDoc(name, entry, now(), now()));
					if (url) await this.repos().update({ _id: name }, { $set: { refreshed: now() } });
					ctx.meta.$statusCode = 201;
					return { ...presentRepo((await this.repos().findOne({ _id: name }))!), templates: entries.length };
				},
			},

			listRepos: {
				rest: "GET /repos",
				summary: "List template repositories",
				permission: { level: "authenticated" },
				params: { ...pagination },
				async handler(this: TemplateThis, ctx: Context<{ limit?: number; cursor?: string }>) {
					return paginate(this.repos(), {}, ctx.params, presentRepo);
				},
			},

			refreshRepo: {
				rest: "POST /repos/:repo/refresh",
				summary: "Download a repository's index again",
				permission: { level: "system-admin" },
				params: { repo: repoParam },
				async handler(this: TemplateThis, ctx: Context<{ repo: string }>) {
					const repo = await this.repos().findOne({ _id: ctx.params.repo });
					if (!repo) throw notFound(`template repository ${ctx.params.repo}`);
					if (!repo.url)
						throw invalid(`template repository ${repo.name} has no index URL: add templates one by one`);
					const count = await this.refreshIndex(repo).catch(asClientError);
					return { ...presentRepo((await this.repos().findOne({ _id: repo._id }))!), templates: count };
				},
			},

			removeRepo: {
				rest: "DELETE /repos/:repo",
				summary: "Remove a template repository and its templates (instances keep their versions)",
				permission: { level: "system-admin" },
				params: { repo: repoParam },
				async handler(this: TemplateThis, ctx: Context<{ repo: string }>) {
					const removed = await this.repos().remove({ _id: ctx.params.repo });
					if (removed === 0) throw notFound(`template repository ${ctx.params.repo}`);
					await this.entries().remove({ repo: ctx.params.repo }, { multi: true });
					return { name: ctx.params.repo, deleted: true };
				},
			},

			addTemplate: {
				rest: "POST /repos/:repo/templates",
				summary: "Add one template (its manifest URL) to a repository",
				permission: { level: "system-admin" },
				params: {
					repo: repoParam,
					name: templateNameParam,
					url: urlParam,
					description: { type: "string", max: 4096, optional: true },
				},
				async handler(
					this: TemplateThis,
					ctx: Context<{ repo: string; name: string; url: string; description?: string }, GatewayMeta>,
				) {
					const { repo, name, url } = ctx.params;
					if (!(await this.repos().findOne({ _id: repo }))) throw notFound(`template repository ${repo}`);
					// Check the template renders from its URL before listing it.
					const bundle = await this.fetchBundle(url).catch(asClientError);
					const doc: TemplateEntryDoc = {
						_id: `${repo}/${name}`,
						repo,
						name,
						description: ctx.params.description ?? bundle.manifest.description,
						url,
						origin: "manual",
						created: now(),
						updated: now(),
					};
					try {
						await this.entries().insert(doc);
					} catch (e) {
						if (e instanceof DuplicateKeyError)
							throw conflict(`template ${repo}/${name} already exists`, { repo, name });
						throw e;
					}
					ctx.meta.$statusCode = 201;
					return presentEntry(doc);
				},
			},

			removeTemplate: {
				rest: "DELETE /repos/:repo/templates/:name",
				summary: "Remove a template from a repository",
				permission: { level: "system-admin" },
				params: { repo: repoParam, name: templateNameParam },
				async handler(this: TemplateThis, ctx: Context<{ repo: string; name: string }>) {
					const removed = await this.entries().remove({ _id: `${ctx.params.repo}/${ctx.params.name}` });
					if (removed === 0) throw notFound(`template ${ctx.params.repo}/${ctx.params.name}`);
					return { ref: `${ctx.params.repo}/${ctx.params.name}`, deleted: true };
				},
			},

			list: {
				rest: "GET /",
				summary: "List templates, of every repository or of one (?repo=)",
				permission: { level: "authenticated" },
				params: { repo: { ...repoParam, optional: true }, ...pagination },
				async handler(this: TemplateThis, ctx: Context<{ repo?: string; limit?: number; cursor?: string }>) {
					return paginate(
						this.entries(),
						ctx.params.repo ? { repo: ctx.params.repo } : {},
						ctx.params,
						presentEntry,
					);
				},
			},

			get: {
				rest: "GET /:repo/:name",
				summary: "Show a template: its parameters and files (downloads it again unless ?version= is given)",
				permission: { level: "authenticated" },
				params: {
					repo: repoParam,
					name: templateNameParam,
					version: { type: "number", integer: true, min: 1, optional: true, convert: true },
				},
				async handler(this: TemplateThis, ctx: Context<{ repo: string; name: string; version?: number }>) {
					const { repo, name, version } = ctx.params;
					const entry = await this.entries().findOne({ _id: `${repo}/${name}` });
					const v = await this.resolveVersion(repo, name, version);
					return presentTemplate(repo, name, entry, v);
				},
			},

			publicKey: {
				rest: { method: "GET", basePath: "/projects", path: "/:key/templates/key" } as any,
				summary: "The project's OpenPGP public key (template secrets are encrypted with it)",
				permission: { level: "read", project: "key" },
				params: { key: projectKey },
				async handler(this: TemplateThis, ctx: Context<{ key: string }>) {
					await this.requireProject(ctx, ctx.params.key);
					const k = await this.projectKey(ctx.params.key);
					return {
						project: k.project,
						publicKey: k.publicKey,
						fingerprint: k.fingerprint,
						created: k.created,
					};
				},
			},

			render: {
				rest: { method: "POST", basePath: "/projects", path: "/:key/templates/render" } as any,
				summary: "Render a template into as-code files for a project and record the instance",
				permission: { level: "write", project: "key" },
				params: {
					key: projectKey,
					template: { type: "string", min: 3, max: 256 },
					name: entityName,
					params: paramsParam,
					force: { type: "boolean", optional: true, convert: true },
				},
				async handler(
					this: TemplateThis,
					ctx: Context<{
						key: string;
						template: string;
						name: string;
						params?: Record<string, unknown>;
						force?: boolean;
					}>,
				) {
					const { key, template, name } = ctx.params;
					await this.requireProject(ctx, key);
					const { instance, files } = await this.renderFor(
						ctx,
						key,
						name,
						template,
						ctx.params.params ?? {},
						ctx.params.force === true,
					);
					return {
						instance: presentInstance(instance),
						files: files.map((f) => ({ path: f.path, kind: f.kind, content: f.content })),
					};
				},
			},

			listInstances: {
				rest: { method: "GET", basePath: "/projects", path: "/:key/templates/instances" } as any,
				summary: "Workflows of a project made from templates",
				permission: { level: "read", project: "key" },
				params: { key: projectKey, ...pagination },
				async handler(this: TemplateThis, ctx: Context<{ key: string; limit?: number; cursor?: string }>) {
					await this.requireProject(ctx, ctx.params.key);
					return paginate(this.instances(), { project: ctx.params.key }, ctx.params, presentInstance);
				},
			},

			getInstance: {
				rest: { method: "GET", basePath: "/projects", path: "/:key/templates/instances/:name" } as any,
				summary: "Which template and version produced a workflow",
				permission: { level: "read", project: "key" },
				params: { key: projectKey, name: entityName },
				async handler(this: TemplateThis, ctx: Context<{ key: string; name: string }>) {
					const doc = await this.instances().findOne({ _id: `${ctx.params.key}/${ctx.params.name}` });
					if (!doc) throw notFound(`template instance of workflow ${ctx.params.name}`);
					return presentInstance(doc);
				},
			},

			apply: {
				rest: { method: "POST", basePath: "/projects", path: "/:key/templates/instances/:name/apply" } as any,
				summary:
					"Render a workflow's template again (latest or given version, changed parameters); imports the result unless the workflow is as code",
				permission: { level: "write", project: "key" },
				params: {
					key: projectKey,
					name: entityName,
					version: { type: "number", integer: true, min: 1, optional: true, convert: true },
					params: paramsParam,
					import: { type: "boolean", optional: true, convert: true },
				},
				async handler(
					this: TemplateThis,
					ctx: Context<{
						key: string;
						name: string;
						version?: number;
						params?: Record<string, unknown>;
						import?: boolean;
					}>,
				) {
					const { key, name } = ctx.params;
					const existing = await this.instances().findOne({ _id: `${key}/${name}` });
					if (!existing) throw notFound(`template instance of workflow ${name}`);
					const again = applyRequest(existing, ctx.params.version, ctx.params.params);
					const { instance, files } = await this.renderFor(
						ctx,
						key,
						name,
						again.template,
						again.params,
						true,
					);
					const head = await callAction(ctx, "workflow.get", { key, name }).catch(() => null);
					const asCode = head?.asCode === true;
					let imported: unknown = null;
					if (shouldImport(asCode, ctx.params.import)) {
						imported = await callAction(ctx, "workflow.import", {
							key,
							files: files.map((f) => ({ path: f.path, content: f.content })),
							force: true,
						});
					}
					return {
						instance: presentInstance(instance),
						asCode,
						imported,
						files: files.map((f) => ({ path: f.path, kind: f.kind, content: f.content })),
					};
				},
			},

			/**
			 * Opens a template secret for the run engine. Internal: no REST route, and the
			 * gateway never forwards a call without a user to an action without one.
			 */
			decryptSecret: {
				idempotent: true,
				params: { project: projectKey, armored: { type: "string", min: 1, max: 65536 } },
				async handler(this: TemplateThis, ctx: Context<{ project: string; armored: string }>) {
					if (!isArmoredMessage(ctx.params.armored)) throw invalid("not an armored PGP message");
					const key = await this.keys().findOne({ _id: ctx.params.project });
					if (!key) throw notFound(`OpenPGP key of project ${ctx.params.project}`);
					const privateKey = runtimeOf(this.broker).secrets.open(key.sealedPrivateKey);
					try {
						return await decryptWithPrivateKey(privateKey, ctx.params.armored);
					} catch (e) {
						if (e instanceof PgpError) throw invalid(e.message);
						throw e;
					}
				},
			},
		},

		methods: {
			repos(this: TemplateThis) {
				return this.collections.template_repos as Collection<TemplateRepoDoc>;
			},
			entries(this: TemplateThis) {
				return this.collections.template_entries as Collection<TemplateEntryDoc>;
			},
			versions(this: TemplateThis) {
				return this.collections.template_versions as Collection<TemplateVersionDoc>;
			},
			instances(this: TemplateThis) {
				return this.collections.template_instances as Collection<TemplateInstanceDoc>;
			},
			keys(this: TemplateThis) {
				return this.collections.template_keys as Collection<TemplateKeyDoc>;
			},
			download(this: TemplateThis, url: string) {
				return fetchTemplateText(url, this.policy);
			},
			async fetchBundle(this: TemplateThis, url: string) {
				const text = await this.download(url);
				return loadBundle(url, text, (u) => this.download(u));
			},
			async refreshIndex(this: TemplateThis, repo: TemplateRepoDoc) {
				const entries = parseRepositoryIndex(repo.url!, await this.download(repo.url!));
				const plan = planIndexRefresh(
					repo.name,
					entries,
					await this.entries().find({ repo: repo.name }),
					now(),
				);
				for (const id of plan.remove) await this.entries().remove({ _id: id });
				for (const doc of plan.write) await this.entries().replace(doc);
				await this.repos().update({ _id: repo.name }, { $set: { refreshed: now(), updated: now() } });
				return entries.length;
			},
			/**
			 * A stored version, or (no version given) the template downloaded now: a new version
			 * number when its content changed since the latest one. Version numbers are claimed
			 * by inserting their _id, so two nodes never give one number to different contents.
			 */
			async resolveVersion(this: TemplateThis, repo: string, name: string, version?: number) {
				if (version !== undefined) {
					const doc = await this.versions().findOne({ _id: versionId(repo, name, version) });
					if (!doc) throw notFound(`template ${repo}/${name}@${version}`);
					return doc;
				}
				const entry = await this.entries().findOne({ _id: `${repo}/${name}` });
				if (!entry) throw notFound(`template ${repo}/${name}`, { repo, name });
				const bundle = await this.fetchBundle(entry.url).catch(asClientError);
				const hash = bundleHash(bundle);
				for (let attempt = 0; attempt < MAX_VERSION_ATTEMPTS; attempt++) {
					const [latest] = await this.versions().find({ repo, name }, { sort: { version: -1 }, limit: 1 });
					const next = nextVersion(latest, hash);
					if (next.reuse) return latest!;
					const doc: TemplateVersionDoc = {
						_id: versionId(repo, name, next.version),
						repo,
						name,
						version: next.version,
						hash,
						bundle,
						fetched: now(),
					};
					try {
						await this.versions().insert(doc);
						return doc;
					} catch (e) {
						if (!(e instanceof DuplicateKeyError)) throw e;
					}
				}
				throw new Error(`could not record a new version of template ${repo}/${name}`);
			},
			async projectKey(this: TemplateThis, project: string) {
				const existing = await this.keys().findOne({ _id: project });
				if (existing) return existing;
				// Made on first need; of two concurrent makers the first insert wins, the other reads it.
				const pair = await generatePgpKeyPair(project);
				const doc: TemplateKeyDoc = {
					_id: project,
					project,
					publicKey: pair.publicKey,
					sealedPrivateKey: runtimeOf(this.broker).secrets.seal(pair.privateKey),
					fingerprint: pair.fingerprint,
					created: now(),
				};
				try {
					await this.keys().insert(doc);
					return doc;
				} catch (e) {
					if (!(e instanceof DuplicateKeyError)) throw e;
					return (await this.keys().findOne({ _id: project }))!;
				}
			},
			async requireProject(this: TemplateThis, ctx: Context, key: string) {
				if (!(await callAction(ctx, "project.exists", { key }))) throw notFound(`project ${key}`, { key });
			},
			async renderFor(
				this: TemplateThis,
				_ctx: Context,
				project: string,
				workflow: string,
				template: string,
				rawParams: Record<string, unknown>,
				force: boolean,
			) {
				let ref: ReturnType<typeof parseTemplateReference>;
				try {
					ref = parseTemplateReference(template);
				} catch (e) {
					throw invalid((e as Error).message, [{ field: "template", message: (e as Error).message }]);
				}
				const refText = `${ref.repo}/${ref.name}`;
				const existing = await this.instances().findOne({ _id: `${project}/${workflow}` });
				const refusal = templateSwitchRefusal(existing, workflow, refText, force);
				if (refusal) throw conflict(refusal, { template: existing?.template });
				const version = await this.resolveVersion(ref.repo, ref.name, ref.version);
				const checked = checkParameters(version.bundle.manifest.parameters, rawParams);
				if (checked.problems.length > 0) {
					throw new MoleculerClientError(
						checked.problems.map((p) => p.message).join("; "),
						422,
						"VALIDATION_ERROR",
						{ errors: checked.problems, missing: checked.missing },
					);
				}
				const store = storeOf(this.broker);
				// The instance number is part of what gets rendered (`.id`): keep it on re-render,
				// otherwise claim the next free one (a unique insert: atomic on every backend).
				const owner = `${project}/${workflow}`;
				const id = await instanceNumber(
					existing?.id,
					existing?.id !== undefined ? 0 : await this.instances().count({ project }),
					(candidate) => store.claim("template-instance-id", `${project}/${candidate}`, owner),
					owner,
				);
				let files: RenderedFile[];
				try {
					files = renderBundle(version.bundle, { id, name: workflow, params: checked.values });
				} catch (e) {
					asClientError(e);
				}
				const doc: TemplateInstanceDoc = {
					_id: `${project}/${workflow}`,
					project,
					id,
					workflow,
					template: refText,
					version: version.version,
					params: recordedParams(checked.values, rawParams),
					files: files.map((f) => f.path),
					created: existing?.created ?? now(),
					updated: now(),
				};
				await this.instances().replace(doc);
				return { instance: doc, files };
			},
		},
	};
}
