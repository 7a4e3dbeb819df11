// Owns workflows and their definitions. A definition is an immutable version keyed by
// (project, workflow, branch, version): imports add a version only when the content
// changed, so a run can pin the exact version it used and as-code branches each keep theirs.

import { randomUUID } from "node:crypto";
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { ProjectContext } from "../schemas/project.ts";
import type { RepositoryDoc } from "../schemas/repository.ts";
import type { AsCodeResult, DefinitionDoc, WorkflowDoc } from "../schemas/workflow.ts";
import { branchName, entityName, fileSet, pagination, projectKey } from "../schemas/params.ts";
import { callAction } from "./support/call.ts";
import type { GatewayMeta } from "../schemas/meta.ts";
import { conflict, invalid, notFound } from "./support/errors.ts";
import { runtimeOf } from "./support/runtime.ts";
import { StoreMixin } from "../mixins/store.mixin.ts";
import { paginate } from "../src/api/pagination.ts";
import { SecretBox } from "../src/crypto/secret-box.ts";
import { type Collection, DuplicateKeyError } from "../src/store/types.ts";
import {
	asCodeHead,
	asCodeOwnershipRefusal,
	asCodePipeline,
	definitionsToDrop,
	dropsDeletedBranch,
	importedHead,
	isFilesRejection,
	outcomeOf,
} from "../src/workflow/as-code-plan.ts";
import {
	DEFAULT_BRANCH,
	definitionHash,
	definitionId,
	nextVersion,
	pipelineSnapshot,
	usedPipelines,
} from "../src/workflow/definitions.ts";
import { exportSet } from "../src/workflow/export-set.ts";
import { LatestDefinitions } from "../src/workflow/latest-definitions.ts";
import {
	createdEmptyWarnings,
	entityWrites,
	fileSetErrorMessage,
	importEntityWrites,
	importedEntityNames,
	importRefusal,
	isEmptySet,
} from "../src/workflow/import-plan.ts";
import { exportWorkflowFiles, parseFileSet } from "../src/workflow/index.ts";
import { requireModelAdmin } from "./support/integration-actions.ts";
import type { HookBinding } from "../src/hooks/bindings.ts";
import { openBindings, servedHooks, type WorkflowHooksDoc } from "../src/hooks/binding-index.ts";
import type { FileSetModel, Pipeline, Workflow } from "../src/workflow/model.ts";

type WorkflowThis = Service & {
	parseForProject(
		ctx: Context,
		key: string,
		files: Array<{ path: string; content: string }>,
	): Promise<{ project: ProjectContext; result: ReturnType<typeof parseFileSet>; box: SecretBox }>;
	collections: Record<string, Collection<any>>;
	broker: any;
	workflows(): Collection<WorkflowDoc>;
	definitions(): Collection<DefinitionDoc>;
	workflowHooks(): Collection<WorkflowHooksDoc>;
	/** The latest definitions this node read, each under its head's stamp. */
	latestDefinitions: LatestDefinitions;
	/** After a change to a workflow's definitions not followed by a head write (a dropped branch). */
	restampDefinitions(head: WorkflowDoc): Promise<void>;
	/** Stamps a head written before stamps existed; undefined when another writer did first. */
	firstStamp(head: WorkflowDoc): Promise<string | undefined>;
	recordHooks(project: string, workflow: Workflow): Promise<void>;
	latestDefinition(project: string, name: string, branch: string): Promise<DefinitionDoc | null>;
	addDefinition(
		project: string,
		name: string,
		branch: string,
		model: Workflow,
		pipelines: Pipeline[],
		author: string | null,
	): Promise<{ doc: DefinitionDoc; changed: boolean }>;
	projectBox(ctx: Context, key: string): Promise<SecretBox>;
	defineAsCode(
		ctx: Context<any, GatewayMeta>,
		repo: RepositoryDoc,
		branch: string,
		files: Array<{ path: string; content: string }>,
	): Promise<AsCodeResult>;
	asCodeOf(repositoryId: string): Promise<WorkflowDoc[]>;
};

/** The 409 every API edit of an as-code workflow gets. */
function asCodeConflict(what: string, repository: string | null | undefined) {
	return conflict(`${what} is defined as code: edit the YAML in ${repository ?? "its repository"} and push`, {
		repository: repository ?? null,
	});
}

const now = () => new Date().toISOString();

function presentHead(doc: WorkflowDoc) {
	return {
		name: doc.name,
		branch: doc.defaultBranch,
		version: doc.latestVersion,
		asCode: doc.asCode,
		repository: doc.repository ?? null,
		repositoryId: doc.repositoryId ?? null,
		created: doc.created,
		updated: doc.updated,
	};
}

export default function WorkflowService(): ServiceSchema<
	ServiceSettingSchema,
	Record<string, any>,
	Record<string, any>,
	WorkflowThis
> {
	return {
		name: "workflow",
		mixins: [
			StoreMixin([
				{ name: "workflows", indexes: [{ fields: ["project"] }] },
				{ name: "definitions", indexes: [{ fields: ["project", "workflow", "branch"] }] },
				// The served hooks (Kafka, RabbitMQ, health checks…) of each workflow's default
				// branch, so a hook source finds its bindings in one read (src/hooks/bindings.ts).
				{ name: "workflow_hooks", indexes: [{ fields: ["project"] }] },
			]),
		],
		settings: { rest: "/projects" },

		created(this: WorkflowThis) {
			this.latestDefinitions = new LatestDefinitions();
		},

		actions: {
			import: {
				rest: "POST /:key/import",
				summary: "Import a file set (workflows, pipelines, applications, environments)",
				permission: { level: "write", project: "key" },
				params: {
					key: projectKey,
					files: fileSet,
					force: { type: "boolean", optional: true, convert: true },
				},
				async handler(
					this: WorkflowThis,
					ctx: Context<
						{ key: string; files: Array<{ path: string; content: string }>; force?: boolean },
						GatewayMeta
					>,
				) {
					const { key, files, force } = ctx.params;
					const { project, result, box } = await this.parseForProject(ctx, key, files);
					if (result.errors.length > 0) {
						throw invalid(
							fileSetErrorMessage(result.errors, "", "the file set"),
							result.errors.map((d) => ({ ...d })),
						);
					}
					const model = result.model as FileSetModel;
					if (isEmptySet(model)) {
						throw invalid("the file set defines no workflow, pipeline, application or environment", []);
					}

					// Refuse to overwrite what differs unless forced; identical content is a no-op.
					const current = new Map<
						string,
						{ asCode: boolean; repository?: string | null; latest: Workflow | null }
					>();
					for (const w of model.workflows) {
						const head = await this.workflows().findOne({ _id: `${key}/${w.name}` });
						if (!head) continue;
						const latest = head.asCode ? null : await this.latestDefinition(key, w.name, head.defaultBranch);
						current.set(w.name, {
							asCode: head.asCode,
							repository: head.repository,
							latest: latest?.model ?? null,
						});
					}
					const refusal = importRefusal(
						model,
						{
							pipelines: new Map(
								project.entities.filter((e) => e.kind === "pipeline").map((e) => [e.name, e.model]),
							),
							asCodeHeads: await this.workflows().find({ project: key, asCode: true }),
							workflows: current,
						},
						force === true,
					);
					if (refusal && "asCode" in refusal)
						throw asCodeConflict(refusal.asCode.what, refusal.asCode.repository);
					if (refusal) {
						throw conflict(
							`${refusal.conflicts.join(", ")} already exist(s) with different content: import again with force to overwrite`,
							{
								conflicts: refusal.conflicts,
							},
						);
					}

					// Models, then integrations, then what uses them — CDS's own order.
					if ((model.integrationModels ?? []).length > 0) {
						requireModelAdmin(
							ctx.meta,
							result.files.filter((f) => f.kind === "integration-model").map((f) => f.path),
						);
						await callAction(ctx, "project.upsertIntegrationModels", { models: model.integrationModels! });
					}
					if ((model.integrations ?? []).length > 0)
						await callAction(ctx, "project.upsertIntegrations", { key, integrations: model.integrations! });

					const entities = importEntityWrites(model, project, (sealed) => box.open(sealed));
					if (entities.length > 0) await callAction(ctx, "project.upsertEntities", { key, entities });

					const pipelineByName = new Map<string, Pipeline>();
					for (const e of project.entities)
						if (e.kind === "pipeline" && e.model) pipelineByName.set(e.name, e.model as Pipeline);
					for (const p of model.pipelines) pipelineByName.set(p.name, p);

					const outcome = { created: [] as string[], updated: [] as string[], unchanged: [] as string[] };
					for (const w of model.workflows) {
						const used = usedPipelines(w);
						const snapshot = pipelineSnapshot(used, (p) => pipelineByName.get(p));
						const head = await this.workflows().findOne({ _id: `${key}/${w.name}` });
						const branch = head?.defaultBranch ?? DEFAULT_BRANCH;
						const { doc, changed } = await this.addDefinition(
							key,
							w.name,
							branch,
							w,
							snapshot,
							ctx.meta.user?.id ?? null,
						);
						// A fresh stamp even when unchanged: keeping the one read could undo a concurrent import's.
						await this.workflows().replace({
							...importedHead({
								project: key,
								name: w.name,
								branch,
								used,
								version: doc.version,
								changed,
								head,
								stamp: now(),
							}),
							definitionsStamp: randomUUID(),
						});
						outcome[outcomeOf(head !== null, changed)].push(w.name);
						if (changed) {
							await this.recordHooks(key, w);
							ctx.emit("workflow.updated", { project: key, workflow: w.name, branch, version: doc.version });
						}
					}
					const { created, updated, unchanged } = outcome;
					const warnings = [
						...result.warnings,
						...createdEmptyWarnings(model, project),
						// Checked, not installed: a plugin comes with its binaries (cds admin plugin import).
						...result.files
							.filter((f) => f.kind === "plugin" || f.kind === "plugin-binary")
							.map((f) => ({
								file: f.path,
								message: `${f.path}: a plugin ${f.kind === "plugin" ? "manifest" : "binary descriptor"} is checked but not installed by an import; install it with cds admin plugin import`,
							})),
					];
					return {
						workflows: model.workflows.map((w) => w.name),
						pipelines: model.pipelines.map((p) => p.name),
						...importedEntityNames(model, project),
						integrationModels: (model.integrationModels ?? []).map((m) => m.name),
						integrations: (model.integrations ?? []).map((i) => i.name),
						created,
						updated,
						unchanged,
						ignored: result.files
							.filter((f) => f.status === "ignored")
							.map((f) => ({ path: f.path, reason: f.reason })),
						warnings,
					};
				},
			},

			list: {
				rest: "GET /:key/workflows",
				summary: "List workflows",
				permission: { level: "read", project: "key" },
				params: { key: projectKey, ...pagination },
				async handler(this: WorkflowThis, ctx: Context<{ key: string; limit?: number; cursor?: string }>) {
					if (!(await callAction(ctx, "project.exists", { key: ctx.params.key })))
						throw notFound(`project ${ctx.params.key}`);
					return paginate(this.workflows(), { project: ctx.params.key }, ctx.params, presentHead);
				},
			},

			get: {
				rest: "GET /:key/workflows/:name",
				summary: "Show a workflow's latest definition on a branch",
				permission: { level: "read", project: "key" },
				params: {
					key: projectKey,
					name: entityName,
					branch: { ...branchName, optional: true },
					version: { type: "number", integer: true, min: 1, optional: true, convert: true },
				},
				async handler(
					this: WorkflowThis,
					ctx: Context<{ key: string; name: string; branch?: string; version?: number }>,
				) {
					const { key, name } = ctx.params;
					const head = await this.workflows().findOne({ _id: `${key}/${name}` });
					if (!head) throw notFound(`workflow ${name}`, { project: key, name });
					const branch = ctx.params.branch ?? head.defaultBranch;
					// The head was read first: a stamp it still carries proves the definition read under it
					// is still the latest (src/workflow/latest-definitions.ts).
					const stamp = head.definitionsStamp ?? (await this.firstStamp(head));
					let def = ctx.params.version
						? await this.definitions().findOne({ _id: definitionId(key, name, branch, ctx.params.version) })
						: this.latestDefinitions.get(key, name, branch, stamp);
					if (!def && !ctx.params.version) {
						def = await this.latestDefinition(key, name, branch);
						if (def) this.latestDefinitions.set(stamp, def);
					}
					if (!def && head.asCode && ctx.params.branch === undefined && ctx.params.version === undefined) {
						// Pushed from a branch before the default one: show the latest definition there is.
						[def] = await this.definitions().find(
							{ project: key, workflow: name },
							{ sort: { created: -1 }, limit: 1 },
						);
					}
					if (!def) throw notFound(`definition of workflow ${name} on branch ${branch}`, { branch });
					return {
						...presentHead(head),
						branch: def.branch,
						version: def.version,
						definitionId: def._id,
						hash: def.hash,
						model: def.model,
						pipelines: def.pipelines,
						definedAt: def.created,
					};
				},
			},

			export: {
				rest: "GET /:key/workflows/:name/export",
				summary: "Export a workflow and what it uses as CDS as-code files",
				permission: { level: "read", project: "key" },
				params: {
					key: projectKey,
					name: entityName,
					branch: { ...branchName, optional: true },
					format: { type: "enum", values: ["yaml", "json"], optional: true },
				},
				async handler(
					this: WorkflowThis,
					ctx: Context<{ key: string; name: string; branch?: string; format?: "yaml" | "json" }>,
				) {
					const { key, name } = ctx.params;
					const def = await callAction(ctx, "workflow.get", { key, name, branch: ctx.params.branch });
					const project = await callAction(ctx, "project.context", { key });
					const { secrets } = runtimeOf(this.broker);
					const box = await this.projectBox(ctx, key);
					const set = exportSet(def, project.entities, (sealed) => secrets.open(sealed), {
						docs: project.integrationDocs,
						models: project.modelDocs,
					});
					const files = exportWorkflowFiles(set, {
						sealSecret: (plain: string) => box.seal(plain),
						openSecret: (sealed: string) => box.open(sealed),
					});
					if (ctx.params.format === "json") {
						const { parse } = await import("yaml");
						return {
							files: files.map((f) => ({
								path: f.path.replace(/\.ya?ml$/, ".json"),
								content: `${JSON.stringify(parse(f.content), null, 2)}\n`,
							})),
						};
					}
					return { files };
				},
			},

			remove: {
				rest: "DELETE /:key/workflows/:name",
				summary: "Delete a workflow and all its definitions",
				permission: { level: "write", project: "key" },
				params: { key: projectKey, name: entityName },
				async handler(this: WorkflowThis, ctx: Context<{ key: string; name: string }>) {
					const { key, name } = ctx.params;
					const removed = await this.workflows().remove({ _id: `${key}/${name}` });
					if (removed === 0) throw notFound(`workflow ${name}`, { project: key, name });
					await this.definitions().remove({ project: key, workflow: name }, { multi: true });
					await this.workflowHooks().remove({ _id: `${key}/${name}` });
					ctx.emit("workflow.deleted", { project: key, workflow: name });
					return { name, deleted: true };
				},
			},

			pushAsCode: {
				rest: "POST /:key/workflows/as-code",
				summary: "Define a linked repository's as-code workflows for a branch (what `cds push` sends)",
				permission: { level: "write", project: "key" },
				params: {
					key: projectKey,
					repositoryId: { type: "string", max: 64 },
					branch: branchName,
					commit: { type: "string", max: 64, optional: true },
					files: fileSet,
				},
				async handler(
					this: WorkflowThis,
					ctx: Context<
						{
							key: string;
							repositoryId: string;
							branch: string;
							commit?: string;
							files: Array<{ path: string; content: string }>;
						},
						GatewayMeta
					>,
				) {
					const repo = await callAction(ctx, "repository.get", { id: ctx.params.repositoryId }).catch(
						() => null,
					);
					if (!repo || repo.project !== ctx.params.key)
						throw notFound(`repository ${ctx.params.repositoryId}`, {
							repositoryId: ctx.params.repositoryId,
						});
					const result = await this.defineAsCode(ctx, repo, ctx.params.branch, ctx.params.files);
					return { ...result, branch: ctx.params.branch, repository: repo.repo };
				},
			},

			/**
			 * Redefines a repository's as-code workflows for `branch` from the files at `commit`,
			 * and says which workflows a push there triggers. Internal (hook service).
			 */
			syncBranch: {
				params: {
					repositoryId: { type: "string", max: 64 },
					branch: branchName,
					commit: { type: "string", max: 64 },
				},
				async handler(
					this: WorkflowThis,
					ctx: Context<{ repositoryId: string; branch: string; commit: string }>,
				) {
					const { repositoryId, branch, commit } = ctx.params;
					const repo = await callAction(ctx, "repository.get", { id: repositoryId });
					const read = await callAction(ctx, "repository.readFiles", { id: repositoryId, commit, branch });
					const known = await this.asCodeOf(repositoryId);
					let result: AsCodeResult | null = null;
					if (read.files.length > 0) {
						try {
							result = await this.defineAsCode(ctx, repo, branch, read.files);
						} catch (e) {
							// A broken YAML on a branch triggers nothing; retrying would not mend it.
							const err = e as { code?: number; message?: string; data?: { errors?: unknown[] } };
							if (!isFilesRejection(err)) throw e;
							this.logger.warn(`as-code files of ${repo.repo}@${commit} (${branch}): ${err.message}`);
							return {
								workflows: [],
								changed: false,
								errors: err.data?.errors ?? [{ message: err.message }],
							};
						}
					}
					// Workflows the branch no longer defines lose that branch's definition (never the default one).
					let removedAny = false;
					const drop = definitionsToDrop(
						known.map((h) => h.name),
						result?.workflows ?? [],
						branch,
						repo.defaultBranch,
					);
					for (const head of known.filter((h) => drop.includes(h.name))) {
						const n = await this.definitions().remove(
							{ project: head.project, workflow: head.name, branch },
							{ multi: true },
						);
						if (n > 0) await this.restampDefinitions(head);
						removedAny ||= n > 0;
					}
					return { workflows: result?.workflows ?? [], changed: (result?.changed ?? false) || removedAny };
				},
			},

			/** Drops a deleted branch's definitions of a repository's workflows. Internal (hook service). */
			deleteBranch: {
				params: {
					repositoryId: { type: "string", max: 64 },
					branch: branchName,
				},
				async handler(this: WorkflowThis, ctx: Context<{ repositoryId: string; branch: string }>) {
					const { repositoryId, branch } = ctx.params;
					const repo = await callAction(ctx, "repository.get", { id: repositoryId });
					// The default branch's definition is what every API read shows: a deleted default branch keeps it.
					if (!dropsDeletedBranch(branch, repo.defaultBranch))
						return { removed: [], reason: "the default branch keeps its definition" };
					const removed: string[] = [];
					for (const head of await this.asCodeOf(repositoryId)) {
						const n = await this.definitions().remove(
							{ project: head.project, workflow: head.name, branch },
							{ multi: true },
						);
						if (n > 0) {
							await this.restampDefinitions(head);
							removed.push(head.name);
							// Runs of the branch are the run service's: it purges them after its retention delay.
							ctx.emit("workflow.branchDeleted", {
								project: head.project,
								workflow: head.name,
								branch,
								deletedAt: now(),
							});
						}
					}
					return { removed };
				},
			},

			/** As-code workflows read from a linked repository. Internal. */
			repositoryUsers: {
				idempotent: true,
				params: { repositoryId: { type: "string", max: 64 } },
				async handler(this: WorkflowThis, ctx: Context<{ repositoryId: string }>) {
					return (await this.asCodeOf(ctx.params.repositoryId)).map((h) => h.name);
				},
			},

			/** Workflows whose latest definition uses a pipeline. Internal. */
			pipelineUsers: {
				idempotent: true,
				params: { key: projectKey, pipeline: entityName },
				async handler(this: WorkflowThis, ctx: Context<{ key: string; pipeline: string }>) {
					const docs = await this.workflows().find({
						project: ctx.params.key,
						pipelines: ctx.params.pipeline,
					});
					return docs.map((d) => d.name);
				},
			},

			/** Drops every workflow of a deleted project. Internal. */
			/**
			 * The served hooks of the given types across projects, each with the integration it
			 * names opened: what a hook source listens for. Internal (hook source nodes only).
			 */
			hookBindings: {
				visibility: "public",
				params: { types: { type: "array", items: { type: "string", min: 1, max: 128 }, max: 32 } },
				async handler(this: WorkflowThis, ctx: Context<{ types: string[] }>): Promise<HookBinding[]> {
					const types = new Set(ctx.params.types);
					const docs = await this.workflowHooks().find({});
					const drafts = docs.flatMap((d) =>
						d.hooks
							.filter((h) => types.has(h.type))
							.map((h) => ({ project: d.project, workflow: d.workflow, hook: h })),
					);
					return openBindings(drafts, (project, names) =>
						callAction(ctx, "project.integrationsForJob", { projectKey: project, names }),
					);
				},
			},

			removeProject: {
				params: { key: projectKey },
				async handler(this: WorkflowThis, ctx: Context<{ key: string }>) {
					await this.definitions().remove({ project: ctx.params.key }, { multi: true });
					await this.workflowHooks().remove({ project: ctx.params.key }, { multi: true });
					const n = await this.workflows().remove({ project: ctx.params.key }, { multi: true });
					return { removed: n };
				},
			},
		},

		methods: {
			workflows(this: WorkflowThis) {
				return this.collections.workflows as Collection<WorkflowDoc>;
			},
			definitions(this: WorkflowThis) {
				return this.collections.definitions as Collection<DefinitionDoc>;
			},
			workflowHooks(this: WorkflowThis) {
				return this.collections.workflow_hooks as Collection<WorkflowHooksDoc>;
			},
			/** Keeps the served hooks of a workflow's default-branch definition (none: no document). */
			async recordHooks(this: WorkflowThis, project: string, workflow: Workflow) {
				const hooks = servedHooks(workflow.hooks);
				const _id = `${project}/${workflow.name}`;
				if (hooks.length === 0) await this.workflowHooks().remove({ _id });
				else
					await this.workflowHooks().replace({
						_id,
						project,
						workflow: workflow.name,
						hooks,
						updated: now(),
					});
			},
			async firstStamp(this: WorkflowThis, head: WorkflowDoc) {
				// A head written before stamps existed gets one once, unless a writer stamped it meanwhile
				// (then nothing is kept this time). Any fresh stamp is correct: changes after it write another.
				const stamp = randomUUID();
				const n = await this.workflows().update(
					{ _id: head._id, definitionsStamp: { $exists: false } },
					{ $set: { definitionsStamp: stamp } },
				);
				return n === 1 ? stamp : undefined;
			},
			async restampDefinitions(this: WorkflowThis, head: WorkflowDoc) {
				await this.workflows().update({ _id: head._id }, { $set: { definitionsStamp: randomUUID() } });
			},
			async latestDefinition(this: WorkflowThis, project: string, name: string, branch: string) {
				const [doc] = await this.definitions().find(
					{ project, workflow: name, branch },
					{ sort: { version: -1 }, limit: 1 },
				);
				return doc ?? null;
			},
			/**
			 * Adds version n+1 unless the content equals the latest. Two importers racing for
			 * the same n+1 collide on the definition's unique _id: the loser re-reads and retries.
			 */
			async addDefinition(this: WorkflowThis, project, name, branch, model, pipelines, author) {
				const hash = definitionHash(model, pipelines);
				for (let attempt = 0; attempt < 20; attempt++) {
					const latest = await this.latestDefinition(project, name, branch);
					const version = nextVersion(latest, hash);
					if (version === null) return { doc: latest!, changed: false };
					const doc: DefinitionDoc = {
						_id: definitionId(project, name, branch, version),
						project,
						workflow: name,
						branch,
						version,
						hash,
						model,
						pipelines,
						created: now(),
						author,
					};
					try {
						await this.definitions().insert(doc);
						return { doc, changed: true };
					} catch (e) {
						if (!(e instanceof DuplicateKeyError)) throw e;
					}
				}
				throw conflict(`workflow ${name} is being changed concurrently: try again`);
			},
			async asCodeOf(this: WorkflowThis, repositoryId: string) {
				return this.workflows().find({ repositoryId, asCode: true });
			},

			/** Parses a file set against what the project holds, opening sealed values with its key. */
			async parseForProject(
				this: WorkflowThis,
				ctx: Context,
				key: string,
				files: Array<{ path: string; content: string }>,
			) {
				const project = await callAction(ctx, "project.context", { key });
				const box = await this.projectBox(ctx, key);
				// Installed plugins (hosted with `run`): a step may name one. None reachable: none installed.
				const plugins = await (ctx.call("plugin.names") as Promise<{ names: string[] }>).then(
					(a) => a.names,
					() => [] as string[],
				);
				const result = parseFileSet(
					files,
					{
						pipelines: project.pipelines,
						applications: project.applications,
						environments: project.environments,
						integrations: project.integrations,
						integrationModels: project.integrationModels,
						integrationModelDefs: project.modelDocs.map((d) => d.model),
						plugins,
					},
					{ openSecret: (sealed: string) => box.open(sealed) },
				);
				return { project, result, box };
			},

			/**
			 * The as-code rules in one place: the files of one branch of one repository define
			 * that branch's version of each workflow; embedded pipelines live in the definition
			 * only (they are not project pipelines); applications and environments are project
			 * entities, written from the default branch (or created when missing).
			 */
			async defineAsCode(this: WorkflowThis, ctx, repo, branch, files) {
				const key = repo.project;
				const { project, result: parsed, box } = await this.parseForProject(ctx, key, files);
				if (parsed.errors.length > 0) {
					throw invalid(
						fileSetErrorMessage(parsed.errors, `${repo.repo}: `, "the as-code files"),
						parsed.errors.map((d) => ({ ...d })),
					);
				}
				const model = parsed.model as FileSetModel;
				if (model.workflows.length === 0)
					throw invalid(`${repo.repo}: the as-code files define no workflow`, [
						{ message: "no workflow file" },
					]);
				// Models are shared by every project: a push (made by whoever may push) never defines one.
				const modelFiles = parsed.files.filter((f) => f.kind === "integration-model");
				if (modelFiles.length > 0) {
					throw invalid(
						`${repo.repo}: ${modelFiles.map((f) => f.path).join(", ")}: integration models are imported by a system administrator (cds admin integration-model import), not from a repository`,
						modelFiles.map((f) => ({
							file: f.path,
							line: 1,
							column: 1,
							message: "integration model in as-code files",
						})),
					);
				}

				const heads = new Map<string, WorkflowDoc | null>();
				for (const w of model.workflows) {
					const head = await this.workflows().findOne({ _id: `${key}/${w.name}` });
					const refusal = asCodeOwnershipRefusal(w.name, head, repo.id);
					if (refusal) throw conflict(refusal, { workflow: w.name });
					heads.set(w.name, head);
				}

				// Applications and environments are project entities: written from the default
				// branch; another branch only creates those missing.
				const isDefault = branch === repo.defaultBranch;
				const entities = entityWrites(model, project, (sealed) => box.open(sealed), {
					keepExisting: !isDefault,
				});
				if (entities.length > 0) await callAction(ctx, "project.upsertEntities", { key, entities });
				// Project integrations, like applications, follow the default branch.
				const integrations = (model.integrations ?? []).filter(
					(i) => isDefault || !project.integrations.includes(i.name),
				);
				if (integrations.length > 0)
					await callAction(ctx, "project.upsertIntegrations", { key, integrations });

				const embedded = new Map(model.pipelines.map((p) => [p.name, p]));
				const projectPipelines = new Map<string, Pipeline>();
				for (const e of project.entities)
					if (e.kind === "pipeline" && e.model) projectPipelines.set(e.name, e.model as Pipeline);

				const out: AsCodeResult = {
					workflows: [],
					created: [],
					updated: [],
					unchanged: [],
					changed: false,
					warnings: parsed.warnings,
				};
				for (const w of model.workflows) {
					const used = usedPipelines(w);
					const snapshot = pipelineSnapshot(used, (p) => asCodePipeline(p, embedded, projectPipelines));
					const { doc, changed } = await this.addDefinition(
						key,
						w.name,
						branch,
						w,
						snapshot,
						ctx.meta?.user?.id ?? null,
					);
					const head = heads.get(w.name) ?? null;
					// A fresh stamp even when unchanged: keeping the one read could undo a concurrent push's.
					await this.workflows().replace({
						...asCodeHead({
							project: key,
							name: w.name,
							repo,
							branch,
							used,
							embedded,
							version: doc.version,
							changed,
							head,
							stamp: now(),
						}),
						definitionsStamp: randomUUID(),
					});
					out.workflows.push(w.name);
					out[outcomeOf(head !== null, changed)].push(w.name);
					if (changed) {
						out.changed = true;
						if (isDefault) await this.recordHooks(key, w);
						ctx.emit("workflow.updated", { project: key, workflow: w.name, branch, version: doc.version });
					}
				}
				return out;
			},

			async projectBox(ctx: Context, key: string) {
				const { projectKey } = await callAction(ctx, "project.secretMaterial", { key });
				return SecretBox.fromKey(Buffer.from(projectKey, "base64"));
			},
		},
	};
}
