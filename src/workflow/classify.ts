import { isMap, isScalar, isSeq } from "yaml";
import type { EntityKind, IntegrationFileKind } from "./model.ts";
import { APPLICATION_KEYS } from "./parse-app-env.ts";
import { PIPELINE_KEYS } from "./parse-pipeline.ts";
import { WORKFLOW_V1_KEYS, WORKFLOW_V2_KEYS } from "./parse-workflow.ts";
import type { SourceFile } from "./source.ts";
import { closest } from "./suggest.ts";

export type Classification =
	| { kind: EntityKind }
	| { kind: IntegrationFileKind }
	/** Only keys every entity shares (name, version): decided later from references and hints. */
	| { kind: "undecided" }
	| { kind: "ignored"; reason: string }
	| { kind: "rejected" };

/** `[[ .x ]]`, `[[if ...]]`, `[[end]]`: Go-template actions with CDS templates' delimiters. */
const TEMPLATE_ACTION = /\[\[-?\s*(?:[.$]|if\b|else\b|end\b|range\b|with\b|template\b|define\b|block\b)/;

/** Keys that only one kind of entity has; they decide what a file is. */
const DISTINCT_KEYS: Record<EntityKind, readonly string[]> = {
	workflow: [
		...new Set(
			[...WORKFLOW_V1_KEYS, ...WORKFLOW_V2_KEYS].filter(
				(k) => !["name", "version", "description"].includes(k),
			),
		),
	].filter((k) => k !== "parameters"),
	pipeline: PIPELINE_KEYS.filter((k) => !["name", "version", "description", "parameters"].includes(k)),
	application: APPLICATION_KEYS.filter((k) => !["name", "version", "description", "keys"].includes(k)),
	environment: ["values"],
};
const SHARED_KEYS = ["name", "version", "description", "keys", "parameters"];

/** What the suffix says, CDS-style; content wins over it. */
export function kindHint(path: string): EntityKind | undefined {
	if (/\.pip\.ya?ml$/i.test(path)) return "pipeline";
	if (/\.app\.ya?ml$/i.test(path)) return "application";
	if (/\.env\.ya?ml$/i.test(path)) return "environment";
	return undefined;
}

function isYamlPath(path: string): boolean {
	return /\.ya?ml$/i.test(path);
}

/** Before parsing: a Go-template source is ignored rather than reported as broken YAML. */
export function templateMarker(text: string): { line: number } | undefined {
	const match = TEMPLATE_ACTION.exec(text);
	if (!match) return undefined;
	return { line: text.slice(0, match.index).split("\n").length };
}

/** Decides from a parsed file's content (and only then its name) what entity it holds. */
export function classify(src: SourceFile): Classification {
	const yamlPath = isYamlPath(src.path);
	if (src.hasErrors) {
		if (!yamlPath && src.diagnostics.every((d) => d.code === "yaml-syntax")) {
			return { kind: "ignored", reason: "not a YAML document" };
		}
		return { kind: "rejected" };
	}
	const root = src.guard(() => src.root) ?? null;
	if (root === null || (isScalar(root) && (root.value === null || root.value === ""))) {
		return { kind: "ignored", reason: "empty document" };
	}
	if (!isMap(root)) {
		const what = isSeq(root) ? "a list" : "a plain value";
		return { kind: "ignored", reason: `not a workflow entity: the document is ${what}, not a mapping` };
	}
	const keys = src.fields(root).map((f) => f.key);
	const topValue = (key: string) => {
		const field = src.fields(root).find((f) => f.key === key);
		return isScalar(field?.value) ? field.value.value : field?.value;
	};
	if (keys.includes("slug") || (typeof topValue("workflow") === "string" && keys.includes("pipelines"))) {
		return {
			kind: "ignored",
			reason: `workflow template manifest (slug '${String(topValue("slug") ?? "?")}'), not a workflow entity`,
		};
	}
	if (keys.includes("from") && !keys.includes("workflow") && !keys.includes("pipeline")) {
		return {
			kind: "ignored",
			reason: `workflow generated from template '${String(topValue("from"))}': it holds the template's parameters, not a definition`,
		};
	}
	if (topValue("version") === "v2.0") return { kind: "workflow" };
	const integrationKind = integrationFileKind(keys);
	if (integrationKind) return { kind: integrationKind };
	const scores = new Map<EntityKind, number>();
	for (const key of keys) {
		for (const [kind, distinct] of Object.entries(DISTINCT_KEYS) as Array<[EntityKind, readonly string[]]>) {
			// An exact key counts fully; a likely typo of one counts a little, so a misspelt
			// workflow is still read (and reported) as a workflow.
			const weight = distinct.includes(key)
				? 1
				: !SHARED_KEYS.includes(key) && closest(key, distinct)
					? 0.25
					: 0;
			scores.set(kind, (scores.get(kind) ?? 0) + weight);
		}
	}
	const ranked = [...scores.entries()].filter(([, s]) => s > 0).sort((a, b) => b[1] - a[1]);
	if (ranked.length > 0 && (ranked.length === 1 || ranked[0]![1] > ranked[1]![1]))
		return { kind: ranked[0]![0] };
	const hint = kindHint(src.path);
	if (hint) return { kind: hint };
	if (keys.includes("name") || keys.includes("version") || keys.some((k) => closest(k, SHARED_KEYS))) {
		return { kind: "undecided" };
	}
	return { kind: "ignored", reason: `no workflow entity keys (found: ${keys.slice(0, 5).join(", ")})` };
}

/** Keys no workflow entity has: a file holding one of them is an integration file. */
const MODEL_ONLY_KEYS = [
	"default_config",
	"additional_default_config",
	"deployment_default_config",
	"public_configurations",
	"artifact_manager",
];
const ENTITY_BODY_KEYS = ["workflow", "pipeline", "jobs", "stages", "steps", "variables", "values"];

/**
 * Integration models (their settings maps), project integrations (`model` + `config`),
 * plugin manifests (`type` + `author`, no workflow body) and plugin binary descriptors
 * (`os` + `arch`), told apart before the entity scoring — their keys would otherwise pass for
 * a pipeline's or a workflow's.
 */
function integrationFileKind(keys: readonly string[]): IntegrationFileKind | undefined {
	const has = (k: string) => keys.includes(k);
	if (ENTITY_BODY_KEYS.some(has)) return undefined;
	if (MODEL_ONLY_KEYS.some(has)) return "integration-model";
	if (has("model") && (has("config") || has("name"))) return "integration";
	if (has("os") && has("arch")) return "plugin-binary";
	if (has("type") && has("author")) return "plugin";
	return undefined;
}
