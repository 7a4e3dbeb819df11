import type { Node } from "yaml";
import {
	CONDITION_OPERATORS,
	type ConditionCheck,
	type ConditionOperator,
	type Conditions,
	KEY_TYPES,
	type KeyType,
	SEALED_PREFIX,
	VARIABLE_TYPES,
	type Variable,
	type VariableType,
} from "./model.ts";
import type { Field, SourceFile } from "./source.ts";
import { closest, didYouMean } from "./suggest.ts";

export interface ParseOptions {
	/** Opens an `enc:v1:` sealed value; without it sealed values stay sealed in the model. */
	openSecret?: (sealed: string) => string;
}

export function emptyConditions(): Conditions {
	return { checks: [], script: undefined };
}

function oneOf<T extends string>(
	src: SourceFile,
	field: Field | undefined,
	allowed: readonly T[],
	what: string,
): T | undefined {
	const value = src.string(field, what);
	if (value === undefined) return undefined;
	if ((allowed as readonly string[]).includes(value)) return value as T;
	src.error(
		"invalid-value",
		`${what} '${value}' is not one of ${allowed.join(", ")}${didYouMean(value, allowed)}`,
		field!.value,
	);
	return undefined;
}

export { oneOf };

/**
 * `conditions:` — `{check: [{variable, operator, value}], script}`. Pipeline stage options may
 * also use CDS's older form, a plain map variable → expected value (meaning `eq`); a key that
 * looks like a typo of check/script is reported rather than taken for a variable.
 */
export function parseConditions(
	src: SourceFile,
	field: Field,
	where: string,
	form: { legacyMap: boolean } = { legacyMap: false },
): Conditions {
	const conditions = emptyConditions();
	if (src.isEmpty(field.value)) return conditions;
	const map = src.map(field.value, `conditions of ${where}`, field.keyNode);
	if (!map) return conditions;
	const entries = src.fields(map);
	const structured = entries.some((e) => closest(e.key, ["check", "script"]) !== undefined);
	if (form.legacyMap && !structured) {
		for (const entry of entries) {
			const value = src.string(entry, `condition '${entry.key}'`, { allowEmpty: true });
			if (value !== undefined) conditions.checks.push({ variable: entry.key, operator: "eq", value });
		}
		return conditions;
	}
	const fields = src.knownFields(map, `conditions of ${where}`, ["check", "script"]);
	conditions.script = src.string(fields.get("script"), "condition script");
	const check = fields.get("check");
	if (check && !src.isEmpty(check.value)) {
		const seq = src.seq(check.value, "conditions check", check.keyNode);
		for (const item of seq ? src.items(seq) : []) {
			const parsed = parseCheck(src, item, where);
			if (parsed) conditions.checks.push(parsed);
		}
	}
	return conditions;
}

function parseCheck(src: SourceFile, node: Node | null, where: string): ConditionCheck | undefined {
	const map = src.map(node, `a condition check of ${where}`);
	if (!map) return undefined;
	const what = `condition check of ${where}`;
	const fields = src.knownFields(map, what, ["variable", "operator", "value"]);
	if (!src.require(fields, ["variable", "operator"], what, map)) return undefined;
	const variable = src.string(fields.get("variable"), "condition variable");
	const operator = oneOf<ConditionOperator>(src, fields.get("operator"), CONDITION_OPERATORS, "operator");
	const value = fields.has("value")
		? src.string(fields.get("value"), "condition value", { allowEmpty: true })
		: "";
	if (variable === undefined || operator === undefined || value === undefined) return undefined;
	return { variable, operator, value };
}

const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** A timeout: seconds as an integer, or a Go-style duration such as `90s`, `10m`, `1h30m`. */
export function parseDuration(src: SourceFile, field: Field | undefined, what: string): number | undefined {
	if (!field) return undefined;
	const raw = src.string(field, what);
	if (raw === undefined) return undefined;
	if (/^\d+$/.test(raw) && Number(raw) > 0) return Number(raw);
	const match = DURATION.exec(raw);
	if (raw !== "" && match) {
		const seconds = Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
		if (seconds > 0) return seconds;
	}
	src.error("invalid-value", `${what} '${raw}' is not a duration (e.g. 90s, 10m, 1h30m)`, field.value);
	return undefined;
}

/** Canonical duration text for export: the largest units first, e.g. 5400 → "1h30m". */
export function formatDuration(seconds: number): string {
	const h = Math.floor(seconds / 3600);
	const m = Math.floor((seconds % 3600) / 60);
	const s = seconds % 60;
	return `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s ? `${s}s` : ""}` || "0s";
}

/** A secret value as found in a file: sealed (`enc:v1:`) values are opened when the caller can. */
export function readSecret(
	src: SourceFile,
	value: string,
	at: Node | null,
	what: string,
	options: ParseOptions,
): Variable {
	if (!value.startsWith(SEALED_PREFIX)) {
		if (value !== "")
			src.warn("cleartext-secret", `${what} is stored in clear; it will be sealed on export`, at);
		return { type: "password", value, sealed: false };
	}
	if (!options.openSecret) return { type: "password", value, sealed: true };
	try {
		return { type: "password", value: options.openSecret(value), sealed: false, asImported: value };
	} catch (error) {
		src.error("secret-error", `cannot open sealed ${what}: ${(error as Error).message}`, at);
		return { type: "password", value, sealed: true };
	}
}

/** `variables:` / `values:` — name → {type, value}. */
export function parseVariables(
	src: SourceFile,
	field: Field | undefined,
	where: string,
	options: ParseOptions,
): Record<string, Variable> {
	const out: Record<string, Variable> = {};
	if (!field || src.isEmpty(field.value)) return out;
	const map = src.map(field.value, `${field.key} of ${where}`, field.keyNode);
	for (const entry of map ? src.fields(map) : []) {
		const what = `variable '${entry.key}'`;
		const varMap = src.map(entry.value, what, entry.keyNode);
		if (!varMap) continue;
		const fields = src.knownFields(varMap, what, ["type", "value"]);
		const type = fields.has("type")
			? oneOf<VariableType>(src, fields.get("type"), VARIABLE_TYPES, `type of ${what}`)
			: "string";
		const value = fields.has("value")
			? src.string(fields.get("value"), `value of ${what}`, { allowEmpty: true })
			: "";
		if (type === undefined || value === undefined) continue;
		const valueNode = fields.get("value")?.value ?? entry.keyNode;
		if (type === "password") {
			out[entry.key] = readSecret(src, value, valueNode, `password ${what}`, options);
			continue;
		}
		if (type === "boolean" && value !== "true" && value !== "false") {
			src.error("invalid-value", `${what} is a boolean; its value must be true or false`, valueNode);
		} else if (type === "number" && value !== "" && !Number.isFinite(Number(value))) {
			src.error("invalid-value", `${what} is a number; '${value}' is not`, valueNode);
		}
		out[entry.key] = { type, value, sealed: false };
	}
	return out;
}

/** `keys:` — name → {type: ssh|pgp}. */
export function parseKeys(
	src: SourceFile,
	field: Field | undefined,
	where: string,
): Record<string, { type: KeyType }> {
	const out: Record<string, { type: KeyType }> = {};
	if (!field || src.isEmpty(field.value)) return out;
	const map = src.map(field.value, `keys of ${where}`, field.keyNode);
	for (const entry of map ? src.fields(map) : []) {
		const what = `key '${entry.key}'`;
		const keyMap = src.map(entry.value, what, entry.keyNode);
		if (!keyMap) continue;
		const fields = src.knownFields(keyMap, what, ["type"]);
		if (!src.require(fields, ["type"], what, keyMap)) continue;
		const type = oneOf<KeyType>(src, fields.get("type"), KEY_TYPES, `type of ${what}`);
		if (type) out[entry.key] = { type };
	}
	return out;
}

/** `permissions:` — group → level (4, 5 or 7 in CDS). */
export function parsePermissions(
	src: SourceFile,
	field: Field | undefined,
	where: string,
): Record<string, number> {
	const out: Record<string, number> = {};
	if (!field || src.isEmpty(field.value)) return out;
	const map = src.map(field.value, `permissions of ${where}`, field.keyNode);
	for (const entry of map ? src.fields(map) : []) {
		const level = src.integer(entry, `permission level of group '${entry.key}'`, 0);
		if (level === undefined) continue;
		if (![4, 5, 7].includes(level)) {
			src.error(
				"invalid-value",
				`permission level ${level} of group '${entry.key}' must be 4, 5 or 7`,
				entry.value,
			);
			continue;
		}
		out[entry.key] = level;
	}
	return out;
}
