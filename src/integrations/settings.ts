// Typed integration settings as files carry them: read with located diagnostics, checked for
// their type, passwords handled like password variables (sealed `enc:v1:` values opened when
// the caller can, clear ones warned about), and the sealed text an import read kept so that an
// unchanged password exports exactly as it was imported.

import type { Node } from "yaml";
import { oneOf, type ParseOptions } from "../workflow/parse-common.ts";
import { SEALED_PREFIX } from "../workflow/model.ts";
import type { Field, SourceFile } from "../workflow/source.ts";
import { INTEGRATION_SETTING_TYPES, type IntegrationConfig, type IntegrationSettingType } from "./model.ts";

/** A setting as read from a file. */
export interface SettingValue {
	type: IntegrationSettingType;
	/** A password's clear value, or its `enc:v1:` text while `sealed`. */
	value: string;
	description?: string;
	/** A password still sealed (no key to open it). */
	sealed?: boolean;
	/** The sealed text the file held, when it was opened: written back unchanged on export. */
	asImported?: string;
}
export type SettingsConfig = Record<string, SettingValue>;

export const SETTING_KEYS = ["type", "value", "description"] as const;

/** Why `value` does not fit `type`, or undefined. Empty values are allowed (not filled yet). */
export function settingValueProblem(type: IntegrationSettingType, value: string): string | undefined {
	if (value === "") return undefined;
	if (type === "boolean" && value !== "true" && value !== "false") return "its value must be true or false";
	if (type === "number" && !Number.isFinite(Number(value))) return `'${value}' is not a number`;
	if (type === "string" && value.includes("\n")) return "a string is one line: use type text";
	return undefined;
}

/**
 * `name: {type, value, description}` settings. `secrets` says what a password is here: in a
 * project integration or a deployment it is a secret (sealed in files); in a model it is a
 * default the administrator writes (kept as written).
 */
export function parseSettings(
	src: SourceFile,
	field: Field | undefined,
	where: string,
	options: ParseOptions & { secrets: boolean },
): SettingsConfig {
	const out: SettingsConfig = {};
	if (!field || src.isEmpty(field.value)) return out;
	const map = src.map(field.value, `${field.key} of ${where}`, field.keyNode);
	for (const entry of map ? src.fields(map) : []) {
		const what = `setting '${entry.key}' of ${where}`;
		if (src.isEmpty(entry.value)) {
			out[entry.key] = { type: "string", value: "" };
			continue;
		}
		const settingMap = src.map(entry.value, what, entry.keyNode);
		if (!settingMap) continue;
		const fields = src.knownFields(settingMap, what, SETTING_KEYS);
		const type = fields.has("type")
			? oneOf<IntegrationSettingType>(src, fields.get("type"), INTEGRATION_SETTING_TYPES, `type of ${what}`)
			: "string";
		const value = fields.has("value")
			? src.string(fields.get("value"), `value of ${what}`, { allowEmpty: true })
			: "";
		const description = fields.has("description")
			? src.string(fields.get("description"), `description of ${what}`, { allowEmpty: true })
			: undefined;
		if (type === undefined || value === undefined) continue;
		const valueNode = fields.get("value")?.value ?? entry.keyNode;
		const setting: SettingValue = { type, value };
		if (description !== undefined && description !== "") setting.description = description;
		if (type === "password" && options.secrets) {
			Object.assign(setting, readSecretSetting(src, value, valueNode, `password ${what}`, options));
		} else {
			const problem = settingValueProblem(type, value);
			if (problem) src.error("invalid-value", `${what} is a ${type}; ${problem}`, valueNode);
		}
		out[entry.key] = setting;
	}
	return out;
}

function readSecretSetting(
	src: SourceFile,
	value: string,
	at: Node | null,
	what: string,
	options: ParseOptions,
): Pick<SettingValue, "value" | "sealed" | "asImported"> {
	if (!value.startsWith(SEALED_PREFIX)) {
		if (value !== "")
			src.warn("cleartext-secret", `${what} is stored in clear; it will be sealed on export`, at);
		return { value };
	}
	if (!options.openSecret) return { value, sealed: true };
	try {
		return { value: options.openSecret(value), asImported: value };
	} catch (error) {
		src.error("secret-error", `cannot open sealed ${what}: ${(error as Error).message}`, at);
		return { value, sealed: true };
	}
}

/** The contract's form: type, value, description (sealing bookkeeping dropped). */
export function plainConfig(config: SettingsConfig): IntegrationConfig {
	const out: IntegrationConfig = {};
	for (const [k, s] of Object.entries(config)) {
		out[k] = {
			type: s.type,
			value: s.value,
			...(s.description !== undefined ? { description: s.description } : {}),
		};
	}
	return out;
}

/** Settings in canonical export form: keys sorted, passwords sealed (the imported text when unchanged). */
export function settingsOut(
	config: SettingsConfig,
	what: string,
	seal: ((plain: string) => string) | undefined,
	opts: { secrets: boolean; openExported?: (sealed: string) => string; valueFirst?: boolean },
): Record<string, Record<string, string>> {
	const out: Record<string, Record<string, string>> = {};
	for (const key of Object.keys(config).sort()) {
		const s = config[key]!;
		let value = s.value;
		if (opts.secrets && s.type === "password" && !s.sealed && value !== "") {
			value = sealedForExport(s, `password setting '${key}' of ${what}`, seal, opts.openExported);
		}
		// CDS writes a model's or project integration's settings value first (its struct order),
		// an application's deployments and a workflow's integrations type first.
		const item: Record<string, string> = opts.valueFirst ? { value, type: s.type } : { type: s.type, value };
		if (s.description !== undefined) item.description = s.description;
		out[key] = item;
	}
	return out;
}

function sealedForExport(
	s: SettingValue,
	what: string,
	seal: ((plain: string) => string) | undefined,
	openExported: ((sealed: string) => string) | undefined,
): string {
	if (s.asImported !== undefined) {
		// Only reuse the imported text while it still holds this value.
		if (!openExported) return s.asImported;
		try {
			if (openExported(s.asImported) === s.value) return s.asImported;
		} catch {
			// sealed with another key: seal afresh
		}
	}
	if (!seal) throw new Error(`sealSecret is required to export ${what}: secrets are never written in clear`);
	const sealed = seal(s.value);
	return sealed.startsWith(SEALED_PREFIX) ? sealed : SEALED_PREFIX + sealed;
}
