// A project integration's settings against its model: which keys the model declares (its
// `default_config` plus `additional_default_config`), with which type, and the defaults a key
// the integration leaves out takes (CDS merges the model's default_config into the
// integration's config the same way). One rule for files (located diagnostics, in
// settings.ts) and for API bodies (field paths, here).

import type { IntegrationSettingType } from "./model.ts";

/** The part of a model the check needs: a parsed, stored, built-in or presented model fits. */
export interface ModelShape {
	name: string;
	defaultConfig: Readonly<Record<string, { type: IntegrationSettingType; value: string }>>;
	additionalDefaultConfig?: Readonly<Record<string, { type: IntegrationSettingType; value: string }>>;
}

/** What a project integration of `model` may set, and each setting's type. */
export interface DeclaredSettings {
	model: string;
	types: ReadonlyMap<string, IntegrationSettingType>;
}

export function declaredSettings(model: ModelShape): DeclaredSettings {
	const types = new Map<string, IntegrationSettingType>();
	for (const [key, s] of Object.entries(model.additionalDefaultConfig ?? {})) types.set(key, s.type);
	// default_config wins when both declare a key: it is what a project integration fills.
	for (const [key, s] of Object.entries(model.defaultConfig)) types.set(key, s.type);
	return { model: model.name, types };
}

/** Why a key is not a setting of the model (undefined when it is). */
export function undeclaredSetting(
	declared: DeclaredSettings,
	key: string,
	integration: string,
): string | undefined {
	if (declared.types.has(key)) return undefined;
	const known = [...declared.types.keys()].sort();
	return `setting '${key}' of integration '${integration}' is not declared by its integration model '${declared.model}' (${
		known.length > 0 ? `it declares ${known.map((k) => `'${k}'`).join(", ")}` : "it declares no setting"
	})`;
}

/** Why a given type differs from the model's (undefined when it does not). */
export function settingTypeMismatch(
	declared: DeclaredSettings,
	key: string,
	given: IntegrationSettingType,
	integration: string,
): string | undefined {
	const expected = declared.types.get(key);
	if (expected === undefined || expected === given) return undefined;
	return `setting '${key}' of integration '${integration}' is given type ${given}, but integration model '${declared.model}' declares it ${expected}`;
}

/**
 * The keys of the model's `default_config` the integration leaves out, with the model's type
 * and value: what CDS gives a project integration for a setting it does not fill.
 */
export function missingDefaults<S extends { type: IntegrationSettingType; value: string }>(
	config: Readonly<Record<string, unknown>>,
	defaults: Readonly<Record<string, S>>,
): Record<string, { type: IntegrationSettingType; value: string }> {
	const out: Record<string, { type: IntegrationSettingType; value: string }> = {};
	for (const [key, s] of Object.entries(defaults)) {
		if (!(key in config)) out[key] = { type: s.type, value: s.value };
	}
	return out;
}

export const MODEL_NAME_MAX_LENGTH = 128;

/**
 * Why `name` cannot name an integration model, or undefined. CDS puts no pattern on model
 * names (its own are "Kafka", "RabbitMQ", "Openstack"; a user's may hold spaces), so any
 * printable text is accepted, within a length and without what would break a URL path step
 * or a log line: path separators, `.`/`..`, control characters, surrounding blanks.
 */
export function modelNameProblem(name: string): string | undefined {
	const shown = JSON.stringify(name).replace(
		/[^\x20-\x7e]/g,
		(c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
	);
	if (name === "") return "name is empty";
	if (name.length > MODEL_NAME_MAX_LENGTH) return `name is longer than ${MODEL_NAME_MAX_LENGTH} characters`;
	if (name === "." || name === "..") return `name ${shown} is reserved (it is a path step)`;
	if (/[/\\]/.test(name)) return `name ${shown} may not hold a path separator ('/' or '\\')`;
	// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
	if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(name))
		return `name ${shown} may not hold control characters`;
	if (name.trim() !== name) return `name ${shown} may not begin or end with blanks`;
	return undefined;
}
