// The rules of a project's entities (applications, environments, pipelines) and their
// variables, kept apart from the store so they can be checked without a broker: ids, how an
// import merges into what exists, how a variable set is checked and sealed, what an answer shows.

import type {
	ContextEntity,
	EntityDoc,
	EntityKind,
	IntegrationModelDoc,
	JobVariables,
	ProjectIntegrationDoc,
	ProjectContext,
	VariableDoc,
} from "../../schemas/project.ts";
import { MASK, normaliseVariableValue, type VariableType } from "./variables.ts";

export interface VariableInput {
	type: VariableType;
	value: unknown;
	/** A password's project-sealed text as a file held it. */
	exported?: string;
}

export type EntityRepository = { vcsServer: string; repo: string; cloneUrl?: string } | null;

/** What an importer (or a repository link) asks to write: missing fields keep what exists. */
export interface EntityInput {
	kind: EntityKind;
	name: string;
	description?: string;
	repository?: EntityRepository;
	model?: unknown;
	workflow?: string | null;
	variables?: Record<string, VariableInput>;
}

export const entityId = (project: string, kind: EntityKind, name: string) => `${project}/${kind}/${name}`;
export const variableId = (project: string, owner: string, name: string) => `${project}/${owner}/${name}`;
/** The owner of an entity's variables ("project" owns the project's own). */
export const variableOwner = (kind: EntityKind, name: string) => `${kind}:${name}`;

/** A new application or environment made through the API. */
export function newEntity(
	project: string,
	kind: "application" | "environment",
	input: { name: string; description?: string; repository?: EntityRepository },
	stamp: string,
): EntityDoc {
	return {
		_id: entityId(project, kind, input.name),
		project,
		kind,
		name: input.name,
		description: input.description ?? "",
		...(kind === "application" ? { repository: input.repository ?? null } : {}),
		created: stamp,
		updated: stamp,
	};
}

/** The fields an API update changes: absent fields are kept; only applications have a repository. */
export function entityChanges(
	kind: EntityKind,
	input: { description?: string; repository?: EntityRepository },
	stamp: string,
): Record<string, unknown> {
	const $set: Record<string, unknown> = { updated: stamp };
	if (input.description !== undefined) $set.description = input.description;
	if (kind === "application" && input.repository !== undefined) $set.repository = input.repository;
	return $set;
}

/**
 * An imported entity merged into the stored one: description and repository keep their
 * stored value when the import leaves them out, the model is replaced only when given, the
 * owning workflow is always the import's (null for a project entity), creation time is kept.
 */
export function mergeEntity(
	project: string,
	input: EntityInput,
	existing: EntityDoc | null,
	stamp: string,
): EntityDoc {
	return {
		_id: entityId(project, input.kind, input.name),
		project,
		kind: input.kind,
		name: input.name,
		description: input.description ?? existing?.description ?? "",
		...(input.kind === "application" ? { repository: input.repository ?? existing?.repository ?? null } : {}),
		...(input.model !== undefined ? { model: input.model } : {}),
		workflow: input.workflow ?? null,
		created: existing?.created ?? stamp,
		updated: stamp,
	};
}

/**
 * Checks and normalises a set of variables for one owner, sealing passwords. Every bad value
 * is reported (field `variables.<name>`), not just the first.
 */
export function variableDocs(
	project: string,
	owner: string,
	vars: Record<string, VariableInput>,
	seal: (plain: string) => string,
	stamp: string,
): { docs: VariableDoc[]; errors: Array<{ field: string; message: string }> } {
	const errors: Array<{ field: string; message: string }> = [];
	const docs: VariableDoc[] = [];
	for (const [name, v] of Object.entries(vars)) {
		const checked = normaliseVariableValue(v.type, v.value);
		if ("error" in checked) {
			errors.push({ field: `variables.${name}`, message: checked.error });
			continue;
		}
		docs.push({
			_id: variableId(project, owner, name),
			project,
			owner,
			name,
			type: v.type,
			value: sealedValue(v.type, checked.value, seal),
			...(v.type === "password" && typeof v.exported === "string" ? { exported: v.exported } : {}),
			updated: stamp,
		});
	}
	return { docs, errors };
}

/** Only passwords are stored sealed. */
export function sealedValue(type: VariableType, value: string, seal: (plain: string) => string): string {
	return type === "password" ? seal(value) : value;
}

/** Stored variables a replacing write drops: those the new set no longer names. */
export function staleVariables(existing: VariableDoc[], kept: VariableDoc[]): VariableDoc[] {
	const keep = new Set(kept.map((d) => d._id));
	return existing.filter((e) => !keep.has(e._id));
}

/** A variable as an answer shows it: passwords masked. */
export function presentVariable(doc: VariableDoc) {
	return {
		name: doc.name,
		type: doc.type,
		value: doc.type === "password" ? MASK : doc.value,
		updated: doc.updated,
	};
}

/** An entity as an answer shows it: each kind its own fields, variables when given. */
export function presentEntity(doc: EntityDoc, variables?: VariableDoc[]) {
	return {
		name: doc.name,
		kind: doc.kind,
		description: doc.description,
		...(doc.kind === "application" ? { repository: doc.repository ?? null } : {}),
		...(doc.kind === "pipeline" ? { model: doc.model, workflow: doc.workflow ?? null } : {}),
		...(variables ? { variables: variables.map(presentVariable) } : {}),
		created: doc.created,
		updated: doc.updated,
	};
}

/** What a file set may refer to: the names of each kind, and each entity with its variables. */
export function projectContext(
	docs: EntityDoc[],
	vars: VariableDoc[],
	integrations: {
		docs: ProjectIntegrationDoc[];
		models: IntegrationModelDoc[];
		modelNames: string[];
		/** The ready-made integrations public models give every project. */
		publicNames?: string[];
	} = {
		docs: [],
		models: [],
		modelNames: [],
	},
): ProjectContext {
	const names = (kind: EntityKind) => docs.filter((d) => d.kind === kind).map((d) => d.name);
	return {
		pipelines: names("pipeline"),
		applications: names("application"),
		environments: names("environment"),
		integrations: [
			...new Set([...integrations.docs.map((d) => d.name), ...(integrations.publicNames ?? [])]),
		],
		integrationModels: integrations.modelNames,
		integrationDocs: integrations.docs,
		modelDocs: integrations.models,
		entities: docs.map(
			(d): ContextEntity => ({
				...d,
				variables: vars.filter((v) => v.owner === variableOwner(d.kind, d.name)),
			}),
		),
	};
}

/**
 * The variables a job sees, passwords opened: the project's, and those of the node's
 * application and environment (none when the node has no such entity).
 */
export function jobVariables(
	vars: VariableDoc[],
	open: (sealed: string) => string,
	node: { application?: string; environment?: string },
): JobVariables {
	const read = (owner: string | null) => {
		const out: Record<string, { type: string; value: string }> = {};
		if (owner === null) return out;
		for (const v of vars) {
			if (v.owner !== owner) continue;
			out[v.name] = { type: v.type, value: v.type === "password" ? open(v.value) : v.value };
		}
		return out;
	};
	return {
		project: read("project"),
		application: read(node.application ? variableOwner("application", node.application) : null),
		environment: read(node.environment ? variableOwner("environment", node.environment) : null),
	};
}
