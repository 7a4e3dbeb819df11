// The file set an export writes for one workflow definition: the workflow, the pipelines it
// snapshots, and the project applications and environments its nodes use, with their
// variables in clear (the exporter seals passwords again with the project key).

import type { ContextEntity, IntegrationModelDoc, ProjectIntegrationDoc } from "../../schemas/project.ts";
import { exportableIntegration, exportableModel, openConfig } from "../integrations/stored.ts";
import type { FileSetModel, Pipeline, Variable, Workflow } from "./model.ts";

/** Every integration a workflow names: its `integrations:`, nodes, hooks and notifications. */
export function workflowIntegrations(workflow: Workflow): string[] {
	const names = new Set<string>(Object.keys(workflow.integrations ?? {}));
	// Definitions stored before a field existed may lack it.
	for (const n of workflow.nodes ?? []) if (n.integration) names.add(n.integration);
	for (const h of workflow.hooks ?? []) if (h.config?.["integration"]) names.add(h.config["integration"]);
	for (const n of workflow.notifications ?? []) if (n.integration) names.add(n.integration);
	return [...names].sort();
}

/**
 * The integrations an export writes: those the workflow or its applications' deployments
 * name, and the imported models they use (built-in models are every server's already).
 */
function integrationsOf(
	names: Set<string>,
	stored: { docs: ProjectIntegrationDoc[]; models: IntegrationModelDoc[] },
	open: (sealed: string) => string,
): Pick<FileSetModel, "integrations" | "integrationModels"> {
	const docs = stored.docs.filter((d) => names.has(d.name));
	const modelNames = new Set(docs.map((d) => d.model));
	return {
		integrations: docs.map((d) => exportableIntegration(d, open)),
		integrationModels: stored.models
			.filter((m) => modelNames.has(m.name))
			.map((m) => exportableModel(m.model)),
	};
}

export function exportSet(
	def: { model: Workflow; pipelines: Pipeline[] },
	entities: ContextEntity[],
	openPassword: (sealed: string) => string,
	stored: { docs: ProjectIntegrationDoc[]; models: IntegrationModelDoc[] } = { docs: [], models: [] },
): FileSetModel {
	const varsOf = (vars: Array<{ name: string; type: string; value: string; exported?: string }>) =>
		Object.fromEntries(
			vars.map((v) => [
				v.name,
				{
					type: v.type,
					value: v.type === "password" ? openPassword(v.value) : v.value,
					sealed: false,
					...(v.type === "password" && v.exported ? { asImported: v.exported } : {}),
				} as Variable,
			]),
		);
	const apps = new Set(def.model.nodes.map((n) => n.application).filter(Boolean));
	const envs = new Set(def.model.nodes.map((n) => n.environment).filter(Boolean));
	const used = new Set(workflowIntegrations(def.model));
	for (const e of entities)
		if (e.kind === "application" && apps.has(e.name))
			for (const n of Object.keys(e.deployments ?? {})) used.add(n);
	return {
		...integrationsOf(used, stored, openPassword),
		workflows: [def.model],
		pipelines: def.pipelines,
		applications: entities
			.filter((e) => e.kind === "application" && apps.has(e.name))
			.map((e) => ({
				name: e.name,
				description: e.description || undefined,
				variables: varsOf(e.variables),
				keys: {},
				vcsServer: e.repository?.vcsServer,
				repo: e.repository?.repo,
				vcs: {},
				vcsPassword: undefined,
				...(e.deployments && Object.keys(e.deployments).length > 0
					? {
							deployments: Object.fromEntries(
								Object.entries(e.deployments).map(([n, c]) => [n, openConfig(c, openPassword)]),
							),
						}
					: {}),
			})),
		environments: entities
			.filter((e) => e.kind === "environment" && envs.has(e.name))
			.map((e) => ({
				name: e.name,
				description: e.description || undefined,
				variables: varsOf(e.variables),
				keys: {},
			})),
		missing: { applications: [], environments: [] },
	};
}
