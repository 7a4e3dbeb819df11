// The project service's integration actions: integration models (global, imported by a
// system administrator, beside the built-in ones), project integrations (one configured
// model, passwords sealed), applications' deployment settings, and the internal
// `project.integrationsForJob` a job's builder calls. Kept apart from project.service.ts only
// for size: the service spreads them into its actions and owns the collections.

import type { Context } from "moleculer";
import type { GatewayMeta } from "../../schemas/meta.ts";
import type {
	EntityDoc,
	IntegrationModelDoc,
	ProjectDoc,
	ProjectIntegrationDoc,
} from "../../schemas/project.ts";
import { entityName, pagination, projectKey } from "../../schemas/params.ts";
import { type PageOptions, paginate, paginateList } from "../../src/api/pagination.ts";
import { BUILTIN_MODELS, builtinModel } from "../../src/integrations/builtin.ts";
import { exportProjectIntegration } from "../../src/integrations/export.ts";
import type {
	IntegrationConfig,
	IntegrationsForJobAnswer,
	IntegrationsForJobParams,
} from "../../src/integrations/model.ts";
import { declaredSettings, missingDefaults } from "../../src/integrations/model-check.ts";
import { MASK } from "../../src/project/variables.ts";
import type { ParsedIntegration, ParsedModel } from "../../src/integrations/parse.ts";
import { readIntegrationFile, readModelFile } from "../../src/integrations/read-file.ts";
import {
	builtinAsStored,
	configFromInput,
	exportableIntegration,
	maskConfig,
	openConfig,
	presentIntegration,
	presentModel,
	publicConfigurations,
	type StoredConfig,
	type StoredModel,
	sealConfig,
	storedModel,
} from "../../src/integrations/stored.ts";
import { plainConfig } from "../../src/integrations/settings.ts";
import { entityId } from "../../src/project/entities.ts";
import { SecretBox } from "../../src/crypto/secret-box.ts";
import type { Diagnostic } from "../../src/workflow/diagnostics.ts";
import type { Collection } from "../../src/store/types.ts";
import { callAction } from "./call.ts";
import { conflict, forbidden, invalid, notFound } from "./errors.ts";
import { runtimeOf } from "./runtime.ts";

export type IntegrationThis = {
	broker: any;
	integrationModels(): Collection<IntegrationModelDoc>;
	projectIntegrations(): Collection<ProjectIntegrationDoc>;
	entities(): Collection<EntityDoc>;
	requireProject(key: string): Promise<ProjectDoc>;
	/** Stored (imported) models first, then built-ins of other names. */
	allModels(): Promise<Array<{ model: StoredModel; builtin: boolean }>>;
	findModel(name: string): Promise<StoredModel | undefined>;
	/** The project's integration of that name, or 404. */
	requireIntegration(key: string, name: string): Promise<ProjectIntegrationDoc>;
	writeIntegrations(key: string, integrations: ParsedIntegration[]): Promise<void>;
	writeModels(models: ParsedModel[]): Promise<void>;
};

const now = () => new Date().toISOString();

const settingRule = {
	type: "object",
	strict: "remove",
	props: {
		type: { type: "string", optional: true, max: 16 },
		value: { type: "any", optional: true },
		description: { type: "string", optional: true, max: 4096 },
	},
} as const;
const configRule = { type: "record", key: { type: "string", min: 1, max: 128 }, value: settingRule } as const;
const fileRule = {
	path: { type: "string", min: 1, max: 1024, optional: true },
	content: { type: "string", max: 1024 * 1024 },
} as const;

const MODELS = "/integration-models";

function isSystemAdmin(meta: GatewayMeta): boolean {
	const user = meta.user;
	// Calls from inside the cluster carry no user: the caller checked already.
	return !user || (user.project === null && user.role === "admin" && !user.job);
}

/** A system administrator may import models; anyone else hears which file needed one. */
export function requireModelAdmin(meta: GatewayMeta, files: string[]): void {
	if (isSystemAdmin(meta)) return;
	const names = files.join(", ");
	throw forbidden(
		`${names}: importing an integration model needs a system-administrator token (models are shared by every project)`,
	);
}

function fileErrors(message: string, errors: Diagnostic[]) {
	const first = errors[0];
	const text =
		errors.length === 1 && first ? `${first.file}:${first.line}:${first.column}: ${first.message}` : message;
	return invalid(
		text,
		errors.map((d) => ({ ...d })),
	);
}

async function projectBox(ctx: Context, key: string): Promise<SecretBox> {
	const { projectKey: material } = await callAction(ctx, "project.secretMaterial", { key });
	return SecretBox.fromKey(Buffer.from(material, "base64"));
}

function presentModelEntry(entry: { model: StoredModel; builtin: boolean }) {
	return { ...presentModel(entry.model), builtin: entry.builtin };
}

export function integrationActions() {
	return {
		listIntegrationModels: {
			rest: { method: "GET" as const, basePath: MODELS, path: "/" },
			summary: "List integration models (built-in and imported)",
			permission: { level: "authenticated" as const },
			params: { ...pagination },
			async handler(this: IntegrationThis, ctx: Context<PageOptions>) {
				// Built-in models are not stored: the page is cut from the merged list, by name.
				return paginateList(await this.allModels(), (m) => m.model.name, ctx.params, presentModelEntry);
			},
		},
		getIntegrationModel: {
			rest: { method: "GET" as const, basePath: MODELS, path: "/:name" },
			summary: "Show an integration model",
			permission: { level: "authenticated" as const },
			params: { name: { type: "string", min: 1, max: 128 } },
			async handler(this: IntegrationThis, ctx: Context<{ name: string }>) {
				const entry = (await this.allModels()).find((m) => m.model.name === ctx.params.name);
				if (!entry) throw notFound(`integration model ${ctx.params.name}`, { name: ctx.params.name });
				return presentModelEntry(entry);
			},
		},
		importIntegrationModel: {
			rest: { method: "POST" as const, basePath: MODELS, path: "/import" },
			summary: "Import an integration model file (system administrator)",
			description:
				"The body is one CDS integration-model file. A token bound to a project is refused with 403 naming the file.",
			// Checked in the handler, so that the refusal names the file.
			permission: { level: "authenticated" as const },
			params: fileRule,
			async handler(this: IntegrationThis, ctx: Context<{ path?: string; content: string }, GatewayMeta>) {
				const path = ctx.params.path ?? "integration-model.yml";
				requireModelAdmin(ctx.meta, [path]);
				const read = readModelFile({ path, content: ctx.params.content });
				if (!read.entity) throw fileErrors(`${read.errors.length} errors in ${path}`, read.errors);
				const existed = (await this.integrationModels().count({ _id: read.entity.name })) > 0;
				await this.writeModels([read.entity]);
				if (!existed) ctx.meta.$statusCode = 201;
				const model = (await this.findModel(read.entity.name))!;
				return { ...presentModel(model), builtin: false, created: !existed };
			},
		},
		removeIntegrationModel: {
			rest: { method: "DELETE" as const, basePath: MODELS, path: "/:name" },
			summary: "Delete an imported integration model (a built-in one of that name is used again)",
			permission: { level: "system-admin" as const },
			params: { name: { type: "string", min: 1, max: 128 } },
			async handler(this: IntegrationThis, ctx: Context<{ name: string }>) {
				const { name } = ctx.params;
				if (!(await this.integrationModels().findOne({ _id: name }))) {
					if (builtinModel(name)) throw conflict(`integration model ${name} is built in`, { name });
					throw notFound(`integration model ${name}`, { name });
				}
				if (!builtinModel(name)) {
					const users = await this.projectIntegrations().find({ model: name });
					if (users.length > 0) {
						const list = users.map((u) => `${u.project}/${u.name}`);
						throw conflict(`integration model ${name} is used by integration ${list.join(", ")}`, {
							integrations: list,
						});
					}
				}
				await this.integrationModels().remove({ _id: name });
				return { name, deleted: true };
			},
		},
		/** Writes models of a file set already checked (and the caller already authorised). Internal. */
		upsertIntegrationModels: {
			params: { models: { type: "array", items: "object" } },
			async handler(this: IntegrationThis, ctx: Context<{ models: ParsedModel[] }, GatewayMeta>) {
				requireModelAdmin(
					ctx.meta,
					ctx.params.models.map((m) => m.name),
				);
				await this.writeModels(ctx.params.models);
				return { count: ctx.params.models.length };
			},
		},

		listIntegrations: {
			rest: "GET /:key/integrations",
			summary: "List the project's integrations (passwords masked)",
			permission: { level: "read" as const, project: "key" },
			params: { key: projectKey, ...pagination },
			async handler(this: IntegrationThis, ctx: Context<{ key: string } & PageOptions>) {
				await this.requireProject(ctx.params.key);
				// _id is `KEY/name`: the _id order is the name order.
				return paginate(
					this.projectIntegrations(),
					{ project: ctx.params.key },
					ctx.params,
					presentIntegration,
				);
			},
		},
		getIntegration: {
			rest: "GET /:key/integrations/:name",
			summary: "Show a project integration and its model (passwords masked)",
			permission: { level: "read" as const, project: "key" },
			params: { key: projectKey, name: entityName },
			async handler(this: IntegrationThis, ctx: Context<{ key: string; name: string }>) {
				const { key, name } = ctx.params;
				const doc = await this.requireIntegration(key, name);
				const model = await this.findModel(doc.model);
				return { ...presentIntegration(doc), modelDef: model ? presentModel(model) : null };
			},
		},
		importIntegration: {
			rest: "POST /:key/integrations/import",
			summary: "Import a project integration file (CDS's `name`, `model`, `config`)",
			description:
				"Passwords may be clear or sealed with the project key (`enc:v1:`); a `**********` value keeps the stored password.",
			permission: { level: "write" as const, project: "key" },
			params: { key: projectKey, ...fileRule },
			async handler(
				this: IntegrationThis,
				ctx: Context<{ key: string; path?: string; content: string }, GatewayMeta>,
			) {
				const { key } = ctx.params;
				await this.requireProject(key);
				const path = ctx.params.path ?? "integration.yml";
				const box = await projectBox(ctx, key);
				const models = (await this.allModels()).map((m) => m.model);
				const read = readIntegrationFile(
					{ path, content: ctx.params.content },
					{ integrationModels: models.map((m) => m.name), integrationModelDefs: models },
					(sealed) => box.open(sealed),
				);
				if (!read.entity) throw fileErrors(`${read.errors.length} errors in ${path}`, read.errors);
				const existed = (await this.projectIntegrations().count({ _id: `${key}/${read.entity.name}` })) > 0;
				await this.writeIntegrations(key, [read.entity]);
				// Hook sources serving hooks that name it read their bindings again.
				ctx.emit("project.integrationChanged", { key: key });
				if (!existed) ctx.meta.$statusCode = 201;
				const doc = (await this.projectIntegrations().findOne({ _id: `${key}/${read.entity.name}` }))!;
				return {
					...presentIntegration(doc),
					created: !existed,
					warnings: read.warnings.map((d) => ({ ...d })),
				};
			},
		},
		createIntegration: {
			rest: "POST /:key/integrations",
			summary: "Create a project integration from JSON (`name`, `model`, `config`)",
			description:
				"`config` maps setting names to `{type, value}`; every key must be declared by the model (its `default_config` or `additional_default_config`) with the model's type (a setting without `type` takes it); a `default_config` setting left out takes the model's value. Passwords are sealed at rest and masked in the answer. 409 when the integration exists (update it with PUT).",
			permission: { level: "write" as const, project: "key" },
			params: {
				key: projectKey,
				name: entityName,
				model: { type: "string", min: 1, max: 128 },
				config: { ...configRule, optional: true },
			},
			async handler(
				this: IntegrationThis,
				ctx: Context<{ key: string; name: string; model: string; config?: Record<string, any> }, GatewayMeta>,
			) {
				const { key, name } = ctx.params;
				await this.requireProject(key);
				if ((await this.projectIntegrations().count({ _id: `${key}/${name}` })) > 0)
					throw conflict(`integration ${name} already exists in project ${key}; update it with PUT`, {
						project: key,
						name,
					});
				const entity = await integrationFromBody(this, name, ctx.params.model, ctx.params.config ?? {});
				await this.writeIntegrations(key, [entity]);
				// Hook sources serving hooks that name it read their bindings again.
				ctx.emit("project.integrationChanged", { key: key });
				ctx.meta.$statusCode = 201;
				const doc = (await this.projectIntegrations().findOne({ _id: `${key}/${name}` }))!;
				return { ...presentIntegration(doc), created: true };
			},
		},
		updateIntegration: {
			rest: "PUT /:key/integrations/:name",
			summary: "Replace a project integration's settings from JSON (`model`, `config`)",
			description:
				"The body's `config` is the whole configuration, checked against the model like on creation; a password sent as `**********` keeps the stored value. `model` defaults to the integration's current model.",
			permission: { level: "write" as const, project: "key" },
			params: {
				key: projectKey,
				name: entityName,
				model: { type: "string", min: 1, max: 128, optional: true },
				config: configRule,
			},
			async handler(
				this: IntegrationThis,
				ctx: Context<{ key: string; name: string; model?: string; config: Record<string, any> }, GatewayMeta>,
			) {
				const { key, name } = ctx.params;
				await this.requireProject(key);
				const existing = await this.projectIntegrations().findOne({ _id: `${key}/${name}` });
				if (!existing) throw notFound(`integration ${name}`, { project: key, name });
				const entity = await integrationFromBody(
					this,
					name,
					ctx.params.model ?? existing.model,
					ctx.params.config,
					existing.config,
				);
				await this.writeIntegrations(key, [entity]);
				// Hook sources serving hooks that name it read their bindings again.
				ctx.emit("project.integrationChanged", { key: key });
				const doc = (await this.projectIntegrations().findOne({ _id: `${key}/${name}` }))!;
				return { ...presentIntegration(doc), created: false };
			},
		},
		exportIntegration: {
			rest: "GET /:key/integrations/:name/export",
			summary: "Export a project integration as a CDS file (passwords sealed with the project key)",
			permission: { level: "read" as const, project: "key" },
			params: { key: projectKey, name: entityName },
			async handler(this: IntegrationThis, ctx: Context<{ key: string; name: string }>) {
				const { key, name } = ctx.params;
				const doc = await this.requireIntegration(key, name);
				const { secrets } = runtimeOf(this.broker);
				const box = await projectBox(ctx, key);
				const content = exportProjectIntegration(
					exportableIntegration(doc, (s) => secrets.open(s)),
					{
						sealSecret: (plain) => box.seal(plain),
						openSecret: (sealed) => box.open(sealed),
					},
				);
				return { path: `${name}.integration.yml`, content };
			},
		},
		removeIntegration: {
			rest: "DELETE /:key/integrations/:name",
			summary: "Delete a project integration",
			permission: { level: "write" as const, project: "key" },
			params: { key: projectKey, name: entityName },
			async handler(this: IntegrationThis, ctx: Context<{ key: string; name: string }>) {
				const { key, name } = ctx.params;
				const apps = await this.entities().find({ project: key, kind: "application" });
				const deploying = apps.filter((a) => a.deployments && name in a.deployments).map((a) => a.name);
				if (deploying.length > 0) {
					throw conflict(
						`integration ${name} is used by the deployments of application ${deploying.join(", ")}`,
						{
							applications: deploying,
						},
					);
				}
				const removed = await this.projectIntegrations().remove({ _id: `${key}/${name}` });
				if (removed === 0) throw notFound(`integration ${name}`, { project: key, name });
				ctx.emit("project.integrationChanged", { key, name });
				return { name, deleted: true };
			},
		},
		/** Writes the integrations of a checked file set (passwords clear or as imported). Internal. */
		upsertIntegrations: {
			params: { key: projectKey, integrations: { type: "array", items: "object" } },
			async handler(this: IntegrationThis, ctx: Context<{ key: string; integrations: ParsedIntegration[] }>) {
				await this.requireProject(ctx.params.key);
				await this.writeIntegrations(ctx.params.key, ctx.params.integrations);
				// Hook sources serving hooks that name it read their bindings again.
				ctx.emit("project.integrationChanged", { key: ctx.params.key });
				return { count: ctx.params.integrations.length };
			},
		},

		getDeployments: {
			rest: "GET /:key/applications/:name/deployments",
			summary: "Show an application's deployment settings, per integration (passwords masked)",
			permission: { level: "read" as const, project: "key" },
			params: { key: projectKey, name: entityName },
			async handler(this: IntegrationThis, ctx: Context<{ key: string; name: string }>) {
				const app = await requireApplication(this, ctx.params.key, ctx.params.name);
				const out: Record<string, ReturnType<typeof maskConfig>> = {};
				for (const [integration, config] of Object.entries(app.deployments ?? {}))
					out[integration] = maskConfig(config);
				return { application: app.name, deployments: out };
			},
		},
		setDeployment: {
			rest: "PUT /:key/applications/:name/deployments/:integration",
			summary: "Set how an application deploys on one of the project's integrations",
			description:
				"`config` maps setting names to `{type, value}`; a `**********` password keeps the stored one.",
			permission: { level: "write" as const, project: "key" },
			params: {
				key: projectKey,
				name: entityName,
				integration: entityName,
				config: configRule,
			},
			async handler(
				this: IntegrationThis,
				ctx: Context<{ key: string; name: string; integration: string; config: Record<string, any> }>,
			) {
				const { key, name, integration } = ctx.params;
				const app = await requireApplication(this, key, name);
				if (!(await this.projectIntegrations().findOne({ _id: `${key}/${integration}` })))
					throw notFound(`integration ${integration}`, { project: key, integration });
				const { config, errors } = configFromInput(ctx.params.config, "config");
				if (errors.length > 0) throw invalid(errors[0]!.message, errors);
				const { secrets } = runtimeOf(this.broker);
				const deployments = { ...(app.deployments ?? {}) };
				deployments[integration] = sealConfig(config, (p) => secrets.seal(p), deployments[integration]);
				await this.entities().update({ _id: app._id }, { $set: { deployments, updated: now() } });
				return { application: name, integration, config: maskConfig(deployments[integration]!) };
			},
		},
		removeDeployment: {
			rest: "DELETE /:key/applications/:name/deployments/:integration",
			summary: "Remove an application's deployment settings for one integration",
			permission: { level: "write" as const, project: "key" },
			params: { key: projectKey, name: entityName, integration: entityName },
			async handler(this: IntegrationThis, ctx: Context<{ key: string; name: string; integration: string }>) {
				const { key, name, integration } = ctx.params;
				const app = await requireApplication(this, key, name);
				if (!app.deployments || !(integration in app.deployments))
					throw notFound(`deployment of application ${name} on ${integration}`, { integration });
				const deployments = { ...app.deployments };
				delete deployments[integration];
				await this.entities().update({ _id: app._id }, { $set: { deployments, updated: now() } });
				return { application: name, integration, deleted: true };
			},
		},

		/**
		 * The named integrations of a project with their model, passwords OPENED: only the run
		 * service calls it, for the job that uses them. Internal (never routed).
		 */
		integrationsForJob: {
			idempotent: true,
			params: {
				projectKey,
				names: { type: "array", items: { type: "string", min: 1, max: 128 }, max: 64 },
				// The job's application: its `deployments:` for these integrations come back opened too.
				application: { type: "string", max: 128, optional: true },
			},
			async handler(
				this: IntegrationThis,
				ctx: Context<IntegrationsForJobParams & { application?: string }>,
			): Promise<IntegrationsForJobAnswer & { deployments?: Record<string, IntegrationConfig> }> {
				const { projectKey: key, names } = ctx.params;
				const { secrets } = runtimeOf(this.broker);
				const open = (sealed: string) => secrets.open(sealed);
				const integrations: IntegrationsForJobAnswer["integrations"] = [];
				const shared = publicConfigurations((await this.allModels()).map((m) => m.model));
				for (const name of [...new Set(names)]) {
					const doc = await this.projectIntegrations().findOne({ _id: `${key}/${name}` });
					const pub = doc ? undefined : shared.find((p) => p.name === name);
					if (pub) {
						integrations.push({
							name,
							model: pub.model.name,
							config: plainConfig(openConfig(pub.config, open)),
							modelDef: presentModel(pub.model, open),
						});
						continue;
					}
					if (!doc) throw notFound(`integration ${name}`, { project: key, name });
					const model = await this.findModel(doc.model);
					if (!model)
						throw notFound(`integration model ${doc.model} of integration ${name}`, { model: doc.model });
					integrations.push({
						name: doc.name,
						model: doc.model,
						config: plainConfig(openConfig(doc.config, open)),
						modelDef: presentModel(model, open),
					});
				}
				if (!ctx.params.application) return { integrations };
				const app = await this.entities().findOne({
					_id: entityId(key, "application", ctx.params.application),
				});
				const deployments: Record<string, IntegrationConfig> = {};
				for (const [name, config] of Object.entries(app?.deployments ?? {}))
					if (names.includes(name)) deployments[name] = plainConfig(openConfig(config, open));
				return { integrations, deployments };
			},
		},
	};
}

/**
 * A project integration from an API body, checked against its model: 422 naming the model when
 * it does not exist, every setting problem with its field (`config.<key>`, `….type`, `….value`).
 * A `**********` password keeps the stored one, so there must be one.
 */
async function integrationFromBody(
	self: IntegrationThis,
	name: string,
	modelName: string,
	input: Record<string, any>,
	stored?: StoredConfig,
): Promise<ParsedIntegration> {
	const model = await self.findModel(modelName);
	if (!model) {
		const known = (await self.allModels()).map((m) => m.model.name);
		throw invalid(`integration model ${modelName} of integration ${name} does not exist`, [
			{ field: "model", message: `unknown integration model ${modelName} (known: ${known.join(", ")})` },
		]);
	}
	const { config, errors } = configFromInput(input, "config", {
		settings: declaredSettings(model),
		integration: name,
	});
	for (const [key, s] of Object.entries(config)) {
		if (s.type === "password" && s.value === MASK && stored?.[key]?.type !== "password")
			errors.push({
				field: `config.${key}.value`,
				message: `'${MASK}' keeps a stored password, and integration ${name} has none for '${key}'`,
			});
	}
	if (errors.length > 0)
		throw invalid(
			errors.length === 1
				? errors[0]!.message
				: `${errors.length} errors in the integration's config: ${errors.map((e) => e.message).join("; ")}`,
			errors,
		);
	return { name, model: model.name, config };
}

async function requireApplication(self: IntegrationThis, key: string, name: string): Promise<EntityDoc> {
	const app = await self.entities().findOne({ _id: entityId(key, "application", name) });
	if (!app) throw notFound(`application ${name}`, { project: key, name });
	return app;
}

/** The methods the actions above use; the service spreads them into its methods. */
export function integrationMethods() {
	return {
		async requireIntegration(this: IntegrationThis, key: string, name: string) {
			const doc = await this.projectIntegrations().findOne({ _id: `${key}/${name}` });
			if (!doc) throw notFound(`integration ${name}`, { project: key, name });
			return doc;
		},
		async allModels(this: IntegrationThis) {
			const stored = await this.integrationModels().find({}, { sort: { name: 1 } });
			const names = new Set(stored.map((d) => d.name));
			return [
				...stored.map((d) => ({ model: d.model, builtin: false })),
				...BUILTIN_MODELS.filter((m) => !names.has(m.name)).map((m) => ({
					model: builtinAsStored(m),
					builtin: true,
				})),
			].sort((a, b) => (a.model.name < b.model.name ? -1 : a.model.name > b.model.name ? 1 : 0));
		},
		async findModel(this: IntegrationThis, name: string) {
			const doc = await this.integrationModels().findOne({ _id: name });
			if (doc) return doc.model;
			const builtin = builtinModel(name);
			return builtin ? builtinAsStored(builtin) : undefined;
		},
		async writeModels(this: IntegrationThis, models: ParsedModel[]) {
			const { secrets } = runtimeOf(this.broker);
			for (const m of models) {
				const existing = await this.integrationModels().findOne({ _id: m.name });
				const stamp = now();
				await this.integrationModels().replace({
					_id: m.name,
					name: m.name,
					model: storedModel(m, (p) => secrets.seal(p), existing?.model),
					created: existing?.created ?? stamp,
					updated: stamp,
				});
			}
		},
		async writeIntegrations(this: IntegrationThis, key: string, integrations: ParsedIntegration[]) {
			const { secrets } = runtimeOf(this.broker);
			for (const i of integrations) {
				const model = await this.findModel(i.model);
				if (!model)
					throw invalid(`integration model ${i.model} of integration ${i.name} does not exist`, [
						{ field: "model", message: `unknown integration model ${i.model}` },
					]);
				const id = `${key}/${i.name}`;
				const existing = await this.projectIntegrations().findOne({ _id: id });
				// A mask keeps a stored password: without one it would be sealed as the password.
				const orphan = Object.entries(i.config).find(
					([k, v]) => v.type === "password" && v.value === MASK && existing?.config[k]?.type !== "password",
				);
				if (orphan)
					throw invalid(
						`'${MASK}' keeps a stored password, and integration ${i.name} has none for '${orphan[0]}'`,
						[{ field: `config.${orphan[0]}.value`, message: "no stored password to keep" }],
					);
				const stamp = now();
				const config: StoredConfig = sealConfig(i.config, (p) => secrets.seal(p), existing?.config);
				// A setting of the model's default_config the integration leaves out takes the
				// model's value (stored form: a password default is already sealed), as in CDS.
				Object.assign(config, missingDefaults(config, model.defaultConfig));
				await this.projectIntegrations().replace({
					_id: id,
					project: key,
					name: i.name,
					model: i.model,
					config,
					created: existing?.created ?? stamp,
					updated: stamp,
				});
			}
		},
	};
}
