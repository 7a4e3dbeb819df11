// What importing a file set into a project decides, apart from the store: what it may not
// overwrite, which project entities it writes, what it warns about. Shared by the API import
// and the as-code branch sync (src/workflow/as-code-plan.ts).

import type { SettingsConfig } from "../integrations/settings.ts";
import type { Diagnostic } from "./diagnostics.ts";
import { contentHash } from "./definitions.ts";
import type { FileSetModel, Variable, Workflow } from "./model.ts";

/** The project names a file set was parsed against. */
export interface KnownEntities {
	applications: readonly string[];
	environments: readonly string[];
}

/** An entity write for `project.upsertEntities`. */
export interface EntityWrite {
	kind: "application" | "environment" | "pipeline";
	name: string;
	description?: string;
	model?: unknown;
	repository?: { vcsServer: string; repo: string };
	variables?: Record<string, { type: string; value: string; exported?: string }>;
	/** Applications: deployments given in the file (clear passwords, with the sealed text read). */
	deployments?: Record<string, SettingsConfig>;
}

/** An as-code workflow that owns names an import touches. */
export interface AsCodeHead {
	name: string;
	repository?: string | null;
	embeddedPipelines?: string[];
}

/** Why an import is refused. */
export type ImportRefusal =
	| { asCode: { what: string; repository: string | null | undefined } }
	| { conflicts: string[] };

/** The one-line message of a rejected file set: the single error with its place, or a count. */
export function fileSetErrorMessage(errors: Diagnostic[], prefix: string, what: string): string {
	const first = errors[0]!;
	return errors.length === 1
		? `${prefix}${first.file}:${first.line}:${first.column}: ${first.message}`
		: `${prefix}${errors.length} errors in ${what}`;
}

export function isEmptySet(model: FileSetModel): boolean {
	return (
		model.workflows.length === 0 &&
		model.pipelines.length === 0 &&
		model.applications.length === 0 &&
		model.environments.length === 0 &&
		(model.integrationModels ?? []).length === 0 &&
		(model.integrations ?? []).length === 0
	);
}

/**
 * What an API import may not overwrite. Anything defined as code is refused outright (its
 * YAML is the truth); a pipeline or workflow that exists with other content is a conflict
 * unless forced; identical content is a no-op. Workflows compare their model alone: pipeline
 * changes are caught as pipelines.
 */
export function importRefusal(
	model: FileSetModel,
	current: {
		/** Project pipelines by name, their stored model. */
		pipelines: Map<string, unknown>;
		/** The project's as-code workflows. */
		asCodeHeads: AsCodeHead[];
		/** Each imported workflow's head (asCode, repository) and latest default-branch model, if any. */
		workflows: Map<string, { asCode: boolean; repository?: string | null; latest: Workflow | null }>;
	},
	force: boolean,
): ImportRefusal | null {
	for (const p of model.pipelines) {
		const owner = current.asCodeHeads.find((h) => h.embeddedPipelines?.includes(p.name));
		if (owner)
			return {
				asCode: { what: `pipeline ${p.name} of workflow ${owner.name}`, repository: owner.repository },
			};
	}
	const conflicts: string[] = [];
	for (const p of model.pipelines) {
		const stored = current.pipelines.get(p.name);
		if (stored !== undefined && contentHash(stored) !== contentHash(p) && !force)
			conflicts.push(`pipeline ${p.name}`);
	}
	for (const w of model.workflows) {
		const head = current.workflows.get(w.name);
		if (head?.asCode) return { asCode: { what: `workflow ${w.name}`, repository: head.repository } };
		if (head?.latest && contentHash(head.latest) !== contentHash(w) && !force)
			conflicts.push(`workflow ${w.name}`);
	}
	return conflicts.length > 0 ? { conflicts } : null;
}

/** Variables as the project stores them: keys become text, sealed values are opened. */
export function entityVariables(
	vars: Record<string, Variable>,
	openSealed: (sealed: string) => string,
): Record<string, { type: string; value: string; exported?: string }> {
	return Object.fromEntries(
		Object.entries(vars).map(([n, v]) => [
			n,
			{
				type: v.type === "key" ? "text" : v.type,
				value: v.sealed ? openSealed(v.value) : v.value,
				// The file's sealed text, kept so that an unchanged password exports as imported.
				...(v.type === "password" && (v.asImported ?? (v.sealed ? v.value : undefined))
					? { exported: v.asImported ?? v.value }
					: {}),
			},
		]),
	);
}

/**
 * The applications and environments a file set writes: those it defines (unless
 * `keepExisting` and the project has one of that name), then empty ones for names its nodes
 * use that exist nowhere.
 */
export function entityWrites(
	model: FileSetModel,
	known: KnownEntities,
	openSealed: (sealed: string) => string,
	options: { keepExisting: boolean },
): EntityWrite[] {
	const out: EntityWrite[] = [];
	for (const a of model.applications) {
		if (options.keepExisting && known.applications.includes(a.name)) continue;
		out.push({
			kind: "application",
			name: a.name,
			description: a.description ?? "",
			variables: entityVariables(a.variables, openSealed),
			...(a.vcsServer && a.repo ? { repository: { vcsServer: a.vcsServer, repo: a.repo } } : {}),
			...(a.deployments ? { deployments: a.deployments } : {}),
		});
	}
	for (const e of model.environments) {
		if (options.keepExisting && known.environments.includes(e.name)) continue;
		out.push({
			kind: "environment",
			name: e.name,
			description: e.description ?? "",
			variables: entityVariables(e.variables, openSealed),
		});
	}
	for (const name of createdEmpty(model, known).applications) out.push({ kind: "application", name });
	for (const name of createdEmpty(model, known).environments) out.push({ kind: "environment", name });
	return out;
}

/** An API import writes its pipelines as project pipelines, then the other entities. */
export function importEntityWrites(
	model: FileSetModel,
	known: KnownEntities,
	openSealed: (sealed: string) => string,
): EntityWrite[] {
	return [
		...model.pipelines.map(
			(p): EntityWrite => ({ kind: "pipeline", name: p.name, model: p, description: p.description ?? "" }),
		),
		...entityWrites(model, known, openSealed, { keepExisting: false }),
	];
}

/** Names the nodes use that neither the set nor the project defines: they are created empty. */
export function createdEmpty(model: FileSetModel, known: KnownEntities) {
	return {
		applications: model.missing.applications.filter((n) => !known.applications.includes(n)),
		environments: model.missing.environments.filter((n) => !known.environments.includes(n)),
	};
}

/**
 * The applications and environments an import wrote: those of the file set and those its nodes
 * use that it created empty — so the summary counts what the warnings say was created.
 */
export function importedEntityNames(
	model: FileSetModel,
	known: KnownEntities,
): { applications: string[]; environments: string[] } {
	const empty = createdEmpty(model, known);
	const names = (declared: Array<{ name: string }>, extra: string[]) => [
		...new Set([...declared.map((d) => d.name), ...extra]),
	];
	return {
		applications: names(model.applications, empty.applications),
		environments: names(model.environments, empty.environments),
	};
}

/** The warnings an import adds to the parser's: what it created empty. */
export function createdEmptyWarnings(model: FileSetModel, known: KnownEntities): Array<{ message: string }> {
	const empty = createdEmpty(model, known);
	return [
		...empty.applications.map((n) => ({ message: `application ${n} did not exist: created empty` })),
		...empty.environments.map((n) => ({ message: `environment ${n} did not exist: created empty` })),
	];
}
