// Owns projects and what hangs off them: variables, applications, environments and
// project pipelines. Workflows live in the workflow service, which calls the internal
// actions here (`context`, `upsertEntities`) when it imports a file set.

import { randomBytes } from "node:crypto";
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type {
	EntityDoc,
	IntegrationModelDoc,
	ProjectDoc,
	ProjectIntegrationDoc,
	VariableDoc,
} from "../schemas/project.ts";
import { entityName, pagination, projectKey } from "../schemas/params.ts";
import { callAction } from "./support/call.ts";
import type { GatewayMeta } from "../schemas/meta.ts";
import { conflict, invalid, notFound } from "./support/errors.ts";
import { runtimeOf } from "./support/runtime.ts";
import { StoreMixin } from "../mixins/store.mixin.ts";
import { paginate } from "../src/api/pagination.ts";
import {
	type EntityInput,
	entityChanges,
	entityId,
	jobVariables,
	mergeEntity,
	newEntity,
	presentEntity,
	presentVariable,
	projectContext,
	sealedValue,
	staleVariables,
	type VariableInput,
	variableDocs,
	variableId,
	variableOwner,
} from "../src/project/entities.ts";
import {
	NAME_PATTERN,
	VARIABLE_TYPES,
	type VariableType,
	normaliseVariableValue,
} from "../src/project/variables.ts";
import { type Collection, DuplicateKeyError } from "../src/store/types.ts";
import {
	type IntegrationThis,
	integrationActions,
	integrationMethods,
} from "./support/integration-actions.ts";
import { publicConfigurations } from "../src/integrations/stored.ts";
import type { StoredConfig } from "../src/integrations/stored.ts";
import { sealConfig } from "../src/integrations/stored.ts";
import type { SettingsConfig } from "../src/integrations/settings.ts";

type ProjectThis = Service &
	IntegrationThis & {
		collections: Record<string, Collection<any>>;
		broker: any;
		projects(): Collection<ProjectDoc>;
		variables(): Collection<VariableDoc>;
		entities(): Collection<EntityDoc>;
		requireProject(key: string): Promise<ProjectDoc>;
		writeVariables(
			project: string,
			owner: string,
			vars: Record<string, VariableInput>,
			replace: boolean,
		): Promise<void>;
		sealValue(type: VariableType, value: string): string;
	};

const variableRule = {
	type: "object",
	props: {
		type: { type: "enum", values: [...VARIABLE_TYPES] },
		value: { type: "any" },
		// The file's sealed text, set by an importer; an export writes it back only while it opens
		// (with the project key) to the stored value, so a client sending one changes nothing.
		exported: { type: "string", optional: true, max: 65536 },
	},
} as const;

const repositoryRule = {
	type: "object",
	optional: true,
	nullable: true,
	// Unknown keys are dropped, not stored.
	strict: "remove",
	props: {
		vcsServer: { type: "string", min: 1, max: 128 },
		repo: { type: "string", pattern: /^[^/\s]+(\/[^/\s]+)+$/, max: 256 },
		cloneUrl: { type: "string", max: 2048, optional: true },
	},
} as const;

const now = () => new Date().toISOString();

/** CRUD actions for applications and environments, which differ only by their REST path. */
function entityActions(kind: "application" | "environment", plural: string) {
	const extra = kind === "application" ? { repository: repositoryRule } : {};
	const label = (name: string) => `${kind} ${name}`;
	return {
		[`list${plural}`]: {
			rest: `GET /:key/${plural.toLowerCase()}`,
			permission: { level: "read", project: "key" },
			params: { key: projectKey, ...pagination },
			async handler(this: ProjectThis, ctx: Context<{ key: string; limit?: number; cursor?: string }>) {
				await this.requireProject(ctx.params.key);
				return paginate(this.entities(), { project: ctx.params.key, kind }, ctx.params, (d) =>
					presentEntity(d),
				);
			},
		},
		[`create${kind[0].toUpperCase()}${kind.slice(1)}`]: {
			rest: `POST /:key/${plural.toLowerCase()}`,
			permission: { level: "write", project: "key" },
			params: {
				key: projectKey,
				name: entityName,
				description: { type: "string", max: 4096, optional: true },
				variables: {
					type: "record",
					key: { type: "string", pattern: NAME_PATTERN },
					value: variableRule,
					optional: true,
				},
				...extra,
			},
			async handler(this: ProjectThis, ctx: Context<any>) {
				const { key, name, description, variables, repository } = ctx.params;
				await this.requireProject(key);
				const doc = newEntity(key, kind, { name, description, repository }, now());
				try {
					await this.entities().insert(doc);
				} catch (e) {
					if (e instanceof DuplicateKeyError) throw conflict(`${label(name)} already exists`, { name });
					throw e;
				}
				try {
					await this.writeVariables(key, variableOwner(kind, name), variables ?? {}, true);
				} catch (e) {
					// Refused variables refuse the whole creation: no entity is left without them.
					await this.entities().remove({ _id: doc._id });
					throw e;
				}
				(ctx.meta as GatewayMeta).$statusCode = 201;
				return presentEntity(
					doc,
					await this.variables().find(
						{ project: key, owner: variableOwner(kind, name) },
						{ sort: { name: 1 } },
					),
				);
			},
		},
		[`get${kind[0].toUpperCase()}${kind.slice(1)}`]: {
			rest: `GET /:key/${plural.toLowerCase()}/:name`,
			permission: { level: "read", project: "key" },
			params: { key: projectKey, name: entityName },
			async handler(this: ProjectThis, ctx: Context<{ key: string; name: string }>) {
				const { key, name } = ctx.params;
				const doc = await this.entities().findOne({ _id: entityId(key, kind, name) });
				if (!doc) throw notFound(label(name), { project: key, name });
				const vars = await this.variables().find(
					{ project: key, owner: variableOwner(kind, name) },
					{ sort: { name: 1 } },
				);
				return presentEntity(doc, vars);
			},
		},
		[`update${kind[0].toUpperCase()}${kind.slice(1)}`]: {
			rest: `PUT /:key/${plural.toLowerCase()}/:name`,
			permission: { level: "write", project: "key" },
			params: {
				key: projectKey,
				name: entityName,
				description: { type: "string", max: 4096, optional: true },
				variables: {
					type: "record",
					key: { type: "string", pattern: NAME_PATTERN },
					value: variableRule,
					optional: true,
				},
				...extra,
			},
			async handler(this: ProjectThis, ctx: Context<any>) {
				const { key, name, description, variables, repository } = ctx.params;
				const doc = await this.entities().findOne({ _id: entityId(key, kind, name) });
				if (!doc) throw notFound(label(name), { project: key, name });
				const $set = entityChanges(kind, { description, repository }, now());
				await this.entities().update({ _id: doc._id }, { $set });
				if (variables) await this.writeVariables(key, variableOwner(kind, name), variables, true);
				const fresh = (await this.entities().findOne({ _id: doc._id }))!;
				return presentEntity(
					fresh,
					await this.variables().find(
						{ project: key, owner: variableOwner(kind, name) },
						{ sort: { name: 1 } },
					),
				);
			},
		},
		[`remove${kind[0].toUpperCase()}${kind.slice(1)}`]: {
			rest: `DELETE /:key/${plural.toLowerCase()}/:name`,
			permission: { level: "write", project: "key" },
			params: { key: projectKey, name: entityName },
			async handler(this: ProjectThis, ctx: Context<{ key: string; name: string }>) {
				const { key, name } = ctx.params;
				const removed = await this.entities().remove({ _id: entityId(key, kind, name) });
				if (removed === 0) throw notFound(label(name), { project: key, name });
				await this.variables().remove({ project: key, owner: variableOwner(kind, name) }, { multi: true });
				return { name, deleted: true };
			},
		},
	};
}

export default function ProjectService(): ServiceSchema<
	ServiceSettingSchema,
	Record<string, any>,
	Record<string, any>,
	ProjectThis
> {
	return {
		name: "project",
		mixins: [
			StoreMixin([
				{ name: "projects" },
				{ name: "variables", indexes: [{ fields: ["project", "owner"] }] },
				{ name: "entities", indexes: [{ fields: ["project", "kind"] }] },
				{ name: "integration_models" },
				{ name: "project_integrations", indexes: [{ fields: ["project"] }, { fields: ["model"] }] },
			]),
		],
		settings: { rest: "/projects" },

		actions: {
			create: {
				rest: "POST /",
				summary: "Create a project",
				permission: { level: "system-admin" },
				params: {
					key: projectKey,
					name: { type: "string", min: 1, max: 256, trim: true },
					description: { type: "string", max: 4096, optional: true },
				},
				async handler(this: ProjectThis, ctx: Context<{ key: string; name: string; description?: string }>) {
					const { key, name, description } = ctx.params;
					const { secrets } = runtimeOf(this.broker);
					const doc: ProjectDoc = {
						_id: key,
						key,
						name,
						description: description ?? "",
						sealedKey: secrets.seal(randomBytes(32).toString("base64")),
						created: now(),
						updated: now(),
					};
					try {
						await this.projects().insert(doc);
					} catch (e) {
						if (e instanceof DuplicateKeyError) throw conflict(`project ${key} already exists`, { key });
						throw e;
					}
					(ctx.meta as GatewayMeta).$statusCode = 201;
					ctx.emit("project.created", { key });
					return present(doc);
				},
			},

			list: {
				rest: "GET /",
				summary: "List the projects the token can read",
				permission: { level: "authenticated" },
				params: { ...pagination },
				async handler(this: ProjectThis, ctx: Context<{ limit?: number; cursor?: string }, GatewayMeta>) {
					const user = ctx.meta.user;
					const query = user && user.project !== null ? { _id: user.project } : {};
					return paginate(this.projects(), query, ctx.params, present);
				},
			},

			get: {
				rest: "GET /:key",
				summary: "Show a project",
				permission: { level: "read", project: "key" },
				params: { key: projectKey },
				async handler(this: ProjectThis, ctx: Context<{ key: string }>) {
					return present(await this.requireProject(ctx.params.key));
				},
			},

			remove: {
				rest: "DELETE /:key",
				summary: "Delete a project and everything in it",
				permission: { level: "admin", project: "key" },
				params: { key: projectKey },
				async handler(this: ProjectThis, ctx: Context<{ key: string }>) {
					const { key } = ctx.params;
					await this.requireProject(key);
					await callAction(ctx, "workflow.removeProject", { key });
					await this.variables().remove({ project: key }, { multi: true });
					await this.entities().remove({ project: key }, { multi: true });
					await this.projectIntegrations().remove({ project: key }, { multi: true });
					await this.projects().remove({ _id: key });
					ctx.emit("project.deleted", { key });
					return { key, deleted: true };
				},
			},

			exists: {
				idempotent: true,
				params: { key: { type: "string", max: 64 } },
				async handler(this: ProjectThis, ctx: Context<{ key: string }>) {
					return (await this.projects().count({ _id: ctx.params.key })) > 0;
				},
			},

			listVariables: {
				rest: "GET /:key/variables",
				summary: "List project variables (password values masked)",
				permission: { level: "read", project: "key" },
				params: { key: projectKey, ...pagination },
				async handler(this: ProjectThis, ctx: Context<{ key: string; limit?: number; cursor?: string }>) {
					await this.requireProject(ctx.params.key);
					return paginate(
						this.variables(),
						{ project: ctx.params.key, owner: "project" },
						ctx.params,
						presentVariable,
					);
				},
			},

			addVariable: {
				rest: "POST /:key/variables",
				summary: "Add a project variable",
				permission: { level: "write", project: "key" },
				params: {
					key: projectKey,
					name: entityName,
					type: { type: "enum", values: [...VARIABLE_TYPES] },
					value: "any",
				},
				async handler(
					this: ProjectThis,
					ctx: Context<{ key: string; name: string; type: VariableType; value: unknown }>,
				) {
					const { key, name, type, value } = ctx.params;
					await this.requireProject(key);
					const checked = normaliseVariableValue(type, value);
					if ("error" in checked) throw invalid(checked.error, [{ field: "value", message: checked.error }]);
					const doc: VariableDoc = {
						_id: variableId(key, "project", name),
						project: key,
						owner: "project",
						name,
						type,
						value: this.sealValue(type, checked.value),
						updated: now(),
					};
					try {
						await this.variables().insert(doc);
					} catch (e) {
						if (e instanceof DuplicateKeyError) throw conflict(`variable ${name} already exists`, { name });
						throw e;
					}
					(ctx.meta as GatewayMeta).$statusCode = 201;
					return presentVariable(doc);
				},
			},

			updateVariable: {
				rest: "PUT /:key/variables/:name",
				summary: "Change a project variable",
				permission: { level: "write", project: "key" },
				params: {
					key: projectKey,
					name: entityName,
					type: { type: "enum", values: [...VARIABLE_TYPES] },
					value: "any",
				},
				async handler(
					this: ProjectThis,
					ctx: Context<{ key: string; name: string; type: VariableType; value: unknown }>,
				) {
					const { key, name, type, value } = ctx.params;
					const id = variableId(key, "project", name);
					if (!(await this.variables().findOne({ _id: id }))) throw notFound(`variable ${name}`, { name });
					const checked = normaliseVariableValue(type, value);
					if ("error" in checked) throw invalid(checked.error, [{ field: "value", message: checked.error }]);
					await this.variables().update(
						{ _id: id },
						{ $set: { type, value: this.sealValue(type, checked.value), updated: now() } },
					);
					return presentVariable((await this.variables().findOne({ _id: id }))!);
				},
			},

			removeVariable: {
				rest: "DELETE /:key/variables/:name",
				summary: "Delete a project variable",
				permission: { level: "write", project: "key" },
				params: { key: projectKey, name: entityName },
				async handler(this: ProjectThis, ctx: Context<{ key: string; name: string }>) {
					const removed = await this.variables().remove({
						_id: variableId(ctx.params.key, "project", ctx.params.name),
					});
					if (removed === 0) throw notFound(`variable ${ctx.params.name}`, { name: ctx.params.name });
					return { name: ctx.params.name, deleted: true };
				},
			},

			...integrationActions(),
			...entityActions("application", "Applications"),
			...entityActions("environment", "Environments"),

			listPipelines: {
				rest: "GET /:key/pipelines",
				summary: "List project pipelines",
				permission: { level: "read", project: "key" },
				params: { key: projectKey, ...pagination },
				async handler(this: ProjectThis, ctx: Context<{ key: string; limit?: number; cursor?: string }>) {
					await this.requireProject(ctx.params.key);
					return paginate(
						this.entities(),
						{ project: ctx.params.key, kind: "pipeline" },
						ctx.params,
						presentEntity,
					);
				},
			},

			getPipeline: {
				rest: "GET /:key/pipelines/:name",
				summary: "Show a pipeline",
				permission: { level: "read", project: "key" },
				params: { key: projectKey, name: entityName },
				async handler(this: ProjectThis, ctx: Context<{ key: string; name: string }>) {
					const doc = await this.entities().findOne({
						_id: entityId(ctx.params.key, "pipeline", ctx.params.name),
					});
					if (!doc) throw notFound(`pipeline ${ctx.params.name}`, { name: ctx.params.name });
					return presentEntity(doc);
				},
			},

			removePipeline: {
				rest: "DELETE /:key/pipelines/:name",
				summary: "Delete a pipeline",
				permission: { level: "write", project: "key" },
				params: { key: projectKey, name: entityName },
				async handler(this: ProjectThis, ctx: Context<{ key: string; name: string }>) {
					const id = entityId(ctx.params.key, "pipeline", ctx.params.name);
					const doc = await this.entities().findOne({ _id: id });
					if (!doc) throw notFound(`pipeline ${ctx.params.name}`, { name: ctx.params.name });
					const users = await callAction(ctx, "workflow.pipelineUsers", {
						key: ctx.params.key,
						pipeline: ctx.params.name,
					});
					if (users.length > 0) {
						throw conflict(`pipeline ${ctx.params.name} is used by workflow ${users.join(", ")}`, {
							workflows: users,
						});
					}
					await this.entities().remove({ _id: id });
					return { name: ctx.params.name, deleted: true };
				},
			},

			/** What a file set may refer to: used by the workflow importer. Internal. */
			context: {
				idempotent: true,
				params: { key: projectKey },
				async handler(this: ProjectThis, ctx: Context<{ key: string }>) {
					await this.requireProject(ctx.params.key);
					const docs = await this.entities().find({ project: ctx.params.key });
					const vars = await this.variables().find({ project: ctx.params.key });
					const models = await this.allModels();
					return projectContext(docs, vars, {
						docs: await this.projectIntegrations().find({ project: ctx.params.key }, { sort: { name: 1 } }),
						models: await this.integrationModels().find({}, { sort: { name: 1 } }),
						modelNames: models.map((m) => m.model.name),
						publicNames: publicConfigurations(models.map((m) => m.model)).map((p) => p.name),
					});
				},
			},

			/**
			 * Writes the entities of an imported file set. Internal: the workflow service has
			 * already validated the set and decided what may be overwritten.
			 */
			upsertEntities: {
				params: {
					key: projectKey,
					entities: {
						type: "array",
						items: {
							type: "object",
							props: {
								kind: { type: "enum", values: ["application", "environment", "pipeline"] },
								name: entityName,
								description: { type: "string", optional: true },
								repository: repositoryRule,
								model: { type: "any", optional: true },
								workflow: { type: "string", optional: true, nullable: true },
								variables: { type: "record", value: variableRule, optional: true },
								deployments: { type: "record", value: "object", optional: true },
							},
						},
					},
				},
				async handler(
					this: ProjectThis,
					ctx: Context<{
						key: string;
						entities: Array<EntityInput & { deployments?: Record<string, SettingsConfig> }>;
					}>,
				) {
					const { key } = ctx.params;
					await this.requireProject(key);
					const seal = (plain: string) => runtimeOf(this.broker).secrets.seal(plain);
					for (const e of ctx.params.entities) {
						const existing = await this.entities().findOne({ _id: entityId(key, e.kind, e.name) });
						const doc = mergeEntity(key, e, existing, now());
						if (e.kind === "application") {
							// Deployments given replace the stored ones (a masked password keeps its value);
							// an import that leaves them out keeps them.
							const before = existing?.deployments ?? {};
							if (e.deployments) {
								const deployments: Record<string, StoredConfig> = {};
								for (const [name, config] of Object.entries(e.deployments))
									deployments[name] = sealConfig(config, seal, before[name]);
								doc.deployments = deployments;
							} else if (existing?.deployments) doc.deployments = existing.deployments;
						}
						await this.entities().replace(doc);
						if (e.variables) await this.writeVariables(key, variableOwner(e.kind, e.name), e.variables, true);
					}
					return { count: ctx.params.entities.length };
				},
			},

			/**
			 * The variables a job sees, passwords opened: project, and the node's application and
			 * environment. Internal — only the run service calls it, for the worker of that job.
			 */
			jobVariables: {
				idempotent: true,
				params: {
					key: projectKey,
					application: { type: "string", optional: true },
					environment: { type: "string", optional: true },
				},
				async handler(
					this: ProjectThis,
					ctx: Context<{ key: string; application?: string; environment?: string }>,
				) {
					const { key, application, environment } = ctx.params;
					const { secrets } = runtimeOf(this.broker);
					const vars = await this.variables().find({ project: key });
					return jobVariables(vars, (sealed) => secrets.open(sealed), { application, environment });
				},
			},

			/** Clear and sealed secrets of a project, for the importer/exporter and (later) workers. Internal. */
			secretMaterial: {
				idempotent: true,
				params: { key: projectKey },
				async handler(this: ProjectThis, ctx: Context<{ key: string }>) {
					const project = await this.requireProject(ctx.params.key);
					const { secrets } = runtimeOf(this.broker);
					return { projectKey: secrets.open(project.sealedKey) };
				},
			},
		},

		methods: {
			...integrationMethods(),
			integrationModels(this: ProjectThis) {
				return this.collections.integration_models as Collection<IntegrationModelDoc>;
			},
			projectIntegrations(this: ProjectThis) {
				return this.collections.project_integrations as Collection<ProjectIntegrationDoc>;
			},
			projects(this: ProjectThis) {
				return this.collections.projects as Collection<ProjectDoc>;
			},
			variables(this: ProjectThis) {
				return this.collections.variables as Collection<VariableDoc>;
			},
			entities(this: ProjectThis) {
				return this.collections.entities as Collection<EntityDoc>;
			},
			async requireProject(this: ProjectThis, key: string) {
				const doc = await this.projects().findOne({ _id: key });
				if (!doc) throw notFound(`project ${key}`, { key });
				return doc;
			},
			sealValue(this: ProjectThis, type: VariableType, value: string) {
				return sealedValue(type, value, (plain) => runtimeOf(this.broker).secrets.seal(plain));
			},
			async writeVariables(
				this: ProjectThis,
				project: string,
				owner: string,
				vars: Record<string, VariableInput>,
				replace: boolean,
			) {
				const seal = (plain: string) => runtimeOf(this.broker).secrets.seal(plain);
				const { docs, errors } = variableDocs(project, owner, vars, seal, now());
				if (errors.length) throw invalid("invalid variables", errors);
				if (replace) {
					const existing = await this.variables().find({ project, owner });
					for (const e of staleVariables(existing, docs)) await this.variables().remove({ _id: e._id });
				}
				for (const d of docs) await this.variables().replace(d);
			},
		},
	};
}

function present(doc: ProjectDoc) {
	return {
		key: doc.key,
		name: doc.name,
		description: doc.description,
		created: doc.created,
		updated: doc.updated,
	};
}
