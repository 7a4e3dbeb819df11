import { isMap, isScalar } from "yaml";
import type { Node } from "yaml";
import { BUILTIN_ACTIONS, type BuiltinAction, type JsonObject, type Step, type StepAction } from "./model.ts";
import { parseDuration } from "./parse-common.ts";
import type { Field, SourceFile } from "./source.ts";
import { didYouMean } from "./suggest.ts";

const STEP_MODIFIERS = ["name", "enabled", "optional", "always_executed", "timeout"] as const;
/** Every action key a step may carry; a step has exactly one. */
const STEP_ACTIONS: readonly string[] = ["script", ...BUILTIN_ACTIONS, "plugin", "action"];

/** The error of a step key that is no action (nor an installed plugin). */
export function unknownStepAction(key: string): string {
	return `unknown step action '${key}'${didYouMean(key, [...STEP_ACTIONS, ...STEP_MODIFIERS])}`;
}

/** Steps of a job, with one located error per malformed step. */
export function parseSteps(src: SourceFile, field: Field | undefined, where: string): Step[] {
	if (!field || src.isEmpty(field.value)) return [];
	const seq = src.seq(field.value, `steps of ${where}`, field.keyNode);
	const steps: Step[] = [];
	for (const [index, item] of (seq ? src.items(seq) : []).entries()) {
		const step = parseStep(src, item, `step ${index + 1} of ${where}`);
		if (step) steps.push(step);
	}
	return steps;
}

function parseStep(src: SourceFile, node: Node | null, where: string): Step | undefined {
	const map = src.map(node, where);
	if (!map) return undefined;
	const modifiers = new Map<string, Field>();
	const actions: Field[] = [];
	const unknown: Field[] = [];
	for (const field of src.fields(map)) {
		if ((STEP_MODIFIERS as readonly string[]).includes(field.key)) modifiers.set(field.key, field);
		else if (STEP_ACTIONS.includes(field.key)) actions.push(field);
		else unknown.push(field);
	}
	// CDS's custom step, `- plugin-simple: {…}`: a step keyed by the name of an installed plugin.
	// Whether it is one is known only with the project's plugins: the file set decides.
	const only = unknown.length === 1 && actions.length === 0 ? unknown[0]! : undefined;
	if (only && !didYouMean(only.key, STEP_MODIFIERS) && (src.isEmpty(only.value) || isMap(only.value))) {
		src.pluginReferences.push({ name: only.key, node: only.keyNode, usedBy: where, custom: true });
		const params = (src.isEmpty(only.value) ? {} : src.plain(only.value)) as JsonObject;
		return {
			name: src.string(modifiers.get("name"), "step name"),
			enabled: src.boolean(modifiers.get("enabled"), "enabled") ?? true,
			optional: src.boolean(modifiers.get("optional"), "optional") ?? false,
			alwaysExecuted: src.boolean(modifiers.get("always_executed"), "always_executed") ?? false,
			timeout: parseDuration(src, modifiers.get("timeout"), "step timeout"),
			action: { kind: "plugin", name: only.key, params },
		};
	}
	for (const field of unknown) {
		// A typo of a modifier reads better as an unknown key; anything else is taken for an action name.
		const modifierHint = didYouMean(field.key, STEP_MODIFIERS);
		if (modifierHint && actions.length > 0) {
			src.error("unknown-key", `unknown key '${field.key}' in ${where}${modifierHint}`, field.keyNode);
		} else {
			src.error("unknown-step-action", unknownStepAction(field.key), field.keyNode);
		}
	}
	if (actions.length > 1) {
		src.error(
			"ambiguous-step",
			`${where} has ${actions.length} actions (${actions.map((a) => a.key).join(", ")}); a step has exactly one`,
			actions[1]!.keyNode,
		);
	}
	if (actions.length === 0) {
		if (unknown.length === 0) {
			src.error("missing-key", `${where} has no action (e.g. script, gitClone, artifactUpload)`, map);
		}
		return undefined;
	}
	const action = parseAction(src, actions[0]!, where);
	if (!action) return undefined;
	const enabled = src.boolean(modifiers.get("enabled"), "enabled") ?? true;
	return {
		name: src.string(modifiers.get("name"), "step name"),
		enabled,
		optional: src.boolean(modifiers.get("optional"), "optional") ?? false,
		alwaysExecuted: src.boolean(modifiers.get("always_executed"), "always_executed") ?? false,
		timeout: parseDuration(src, modifiers.get("timeout"), "step timeout"),
		action,
	};
}

function parseAction(src: SourceFile, field: Field, where: string): StepAction | undefined {
	if (field.key === "script") {
		const lines = src.stringList(field, `script of ${where}`);
		if (!lines) return undefined;
		if (lines.length === 0) {
			src.error("invalid-value", `script of ${where} is empty`, field.value ?? field.keyNode);
			return undefined;
		}
		return { kind: "script", script: lines.map((l) => l.value) };
	}
	if (field.key === "plugin" || field.key === "action") {
		if (isScalar(field.value) && typeof field.value.value === "string" && field.value.value !== "") {
			if (field.key === "plugin")
				src.pluginReferences.push({ name: field.value.value, node: field.value, usedBy: where });
			return { kind: field.key, name: field.value.value, params: {} };
		}
		const map = src.map(field.value, `${field.key} of ${where}`, field.keyNode);
		if (!map) return undefined;
		const params = src.plain(map) as JsonObject;
		const name = params["name"];
		if (typeof name !== "string" || name === "") {
			src.error("missing-key", `${field.key} of ${where} is missing required key 'name'`, map);
			return undefined;
		}
		delete params["name"];
		if (field.key === "plugin") {
			const nameNode = src.fields(map).find((f) => f.key === "name")?.value ?? map;
			src.pluginReferences.push({ name, node: nameNode, usedBy: where });
		}
		return { kind: field.key, name, params };
	}
	return { kind: "builtin", name: field.key as BuiltinAction, params: src.plain(field.value) };
}
