// The file set an export writes for one workflow definition: the workflow, the pipelines it
// snapshots, and the project applications and environments its nodes use, with their
// variables in clear (the exporter seals passwords again with the project key).

import type { ContextEntity } from "../../schemas/project.ts";
import type { FileSetModel, Pipeline, Variable, Workflow } from "./model.ts";

export function exportSet(
	def: { model: Workflow; pipelines: Pipeline[] },
	entities: ContextEntity[],
	openPassword: (sealed: string) => string,
): FileSetModel {
	const varsOf = (vars: Array<{ name: string; type: string; value: string }>) =>
		Object.fromEntries(
			vars.map((v) => [
				v.name,
				{
					type: v.type,
					value: v.type === "password" ? openPassword(v.value) : v.value,
					sealed: false,
				} as Variable,
			]),
		);
	const apps = new Set(def.model.nodes.map((n) => n.application).filter(Boolean));
	const envs = new Set(def.model.nodes.map((n) => n.environment).filter(Boolean));
	return {
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
