// Integration settings at rest and in answers. Passwords are sealed with the master key like
// password variables, shown as MASK, opened only for a job or an export; the project-sealed
// text an import read is kept beside the value so that an unchanged password exports exactly
// as it was imported. A MASK sent back for a password keeps the stored one (what a client
// that read the masked form and changed something else sends).

import { MASK } from "../project/variables.ts";
import {
	INTEGRATION_SETTING_TYPES,
	type IntegrationConfig,
	type IntegrationModel,
	type IntegrationSettingType,
	type ProjectIntegration,
} from "./model.ts";
import type { ParsedIntegration, ParsedModel } from "./parse.ts";
import { type SettingsConfig, plainConfig, settingValueProblem } from "./settings.ts";

export interface StoredSetting {
	type: IntegrationSettingType;
	/** A non-empty password: sealed with the master key. */
	value: string;
	description?: string;
	/** The project-sealed text an import read for this password. */
	exported?: string;
}
export type StoredConfig = Record<string, StoredSetting>;

/** A model at rest: its settings in stored form (passwords of public configurations sealed). */
export interface StoredModel
	extends Omit<ParsedModel, "defaultConfig" | "additionalDefaultConfig" | "publicConfigurations"> {
	defaultConfig: StoredConfig;
	additionalDefaultConfig?: StoredConfig;
	publicConfigurations?: Record<string, StoredConfig>;
}

export function sealConfig(
	config: SettingsConfig,
	seal: (plain: string) => string,
	previous: StoredConfig = {},
): StoredConfig {
	const out: StoredConfig = {};
	for (const [key, s] of Object.entries(config)) {
		const stored: StoredSetting = { type: s.type, value: s.value };
		if (s.description !== undefined) stored.description = s.description;
		if (s.type === "password") {
			const before = previous[key];
			if (s.value === MASK && before?.type === "password") {
				stored.value = before.value;
				if (before.exported !== undefined) stored.exported = before.exported;
			} else if (s.value !== "") {
				stored.value = seal(s.value);
				if (s.asImported !== undefined) stored.exported = s.asImported;
			}
		}
		out[key] = stored;
	}
	return out;
}

/** Clear values (for a job or an exporter), with the imported sealed text when there is one. */
export function openConfig(stored: StoredConfig, open: (sealed: string) => string): SettingsConfig {
	const out: SettingsConfig = {};
	for (const [key, s] of Object.entries(stored)) {
		const value = s.type === "password" && s.value !== "" ? open(s.value) : s.value;
		out[key] = {
			type: s.type,
			value,
			...(s.description !== undefined ? { description: s.description } : {}),
			...(s.exported !== undefined ? { asImported: s.exported } : {}),
		};
	}
	return out;
}

/** What an answer shows: passwords masked, bookkeeping dropped. */
export function maskConfig(stored: StoredConfig): IntegrationConfig {
	const out: IntegrationConfig = {};
	for (const [key, s] of Object.entries(stored)) {
		out[key] = {
			type: s.type,
			value: s.type === "password" && s.value !== "" ? MASK : s.value,
			...(s.description !== undefined ? { description: s.description } : {}),
		};
	}
	return out;
}

/** Settings sent as JSON through the API, checked like a file's: every problem is reported. */
export function configFromInput(
	input: Record<string, { type?: string; value?: unknown; description?: string }>,
	field: string,
): { config: SettingsConfig; errors: Array<{ field: string; message: string }> } {
	const config: SettingsConfig = {};
	const errors: Array<{ field: string; message: string }> = [];
	for (const [key, raw] of Object.entries(input)) {
		const type = (raw.type ?? "string") as IntegrationSettingType;
		if (!INTEGRATION_SETTING_TYPES.includes(type)) {
			errors.push({
				field: `${field}.${key}.type`,
				message: `type must be one of ${INTEGRATION_SETTING_TYPES.join(", ")}`,
			});
			continue;
		}
		const value = raw.value === undefined || raw.value === null ? "" : raw.value;
		if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
			errors.push({ field: `${field}.${key}.value`, message: "a setting's value is a string" });
			continue;
		}
		const text = String(value);
		const problem = type === "password" ? undefined : settingValueProblem(type, text);
		if (problem) {
			errors.push({ field: `${field}.${key}.value`, message: `a ${type} setting: ${problem}` });
			continue;
		}
		config[key] = { type, value: text, ...(raw.description ? { description: raw.description } : {}) };
	}
	return { config, errors };
}

export function storedModel(
	model: ParsedModel,
	seal: (plain: string) => string,
	previous?: StoredModel,
): StoredModel {
	const { defaultConfig, additionalDefaultConfig, publicConfigurations, ...rest } = model;
	const out: StoredModel = {
		...rest,
		defaultConfig: sealConfig(defaultConfig, seal, previous?.defaultConfig),
	};
	if (additionalDefaultConfig)
		out.additionalDefaultConfig = sealConfig(
			additionalDefaultConfig,
			seal,
			previous?.additionalDefaultConfig,
		);
	if (publicConfigurations) {
		out.publicConfigurations = {};
		for (const [name, c] of Object.entries(publicConfigurations))
			out.publicConfigurations[name] = sealConfig(c, seal, previous?.publicConfigurations?.[name]);
	}
	return out;
}

function mapModelConfigs(model: StoredModel, map: (c: StoredConfig) => IntegrationConfig): IntegrationModel {
	const {
		defaultConfig,
		additionalDefaultConfig,
		publicConfigurations,
		disabled: _disabled,
		...rest
	} = model;
	const out: IntegrationModel = { ...rest, defaultConfig: map(defaultConfig) };
	if (additionalDefaultConfig) out.additionalDefaultConfig = map(additionalDefaultConfig);
	if (publicConfigurations)
		out.publicConfigurations = Object.fromEntries(
			Object.entries(publicConfigurations).map(([n, c]) => [n, map(c)]),
		);
	return out;
}

/** The contract's model, passwords masked (answers) or opened (a job). */
export function presentModel(model: StoredModel, open?: (sealed: string) => string): IntegrationModel {
	return mapModelConfigs(model, (c) => (open ? plainConfig(openConfig(c, open)) : maskConfig(c)));
}

/** A model as an export writes it: passwords masked (a model is not a project's to unseal). */
export function exportableModel(model: StoredModel): ParsedModel {
	const m = mapModelConfigs(model, maskConfig);
	return { ...m, ...(model.disabled ? { disabled: true } : {}) } as ParsedModel;
}

/** A built-in model in stored form (it has no sealed values). */
export function builtinAsStored(model: IntegrationModel): StoredModel {
	return model as unknown as StoredModel;
}

/**
 * The ready-made integrations of public models: each public configuration is an integration
 * every project has, under the configuration's name (CDS's `public_configurations`).
 */
export function publicConfigurations(
	models: StoredModel[],
): Array<{ name: string; model: StoredModel; config: StoredConfig }> {
	const out: Array<{ name: string; model: StoredModel; config: StoredConfig }> = [];
	for (const model of models) {
		if (!model.public) continue;
		for (const [name, config] of Object.entries(model.publicConfigurations ?? {}))
			out.push({ name, model, config });
	}
	return out;
}

export function presentIntegration(doc: {
	name: string;
	model: string;
	config: StoredConfig;
}): ProjectIntegration {
	return { name: doc.name, model: doc.model, config: maskConfig(doc.config) };
}

/** A project integration as an exporter needs it: clear values plus what was imported. */
export function exportableIntegration(
	doc: { name: string; model: string; config: StoredConfig },
	open: (sealed: string) => string,
): ParsedIntegration {
	return { name: doc.name, model: doc.model, config: openConfig(doc.config, open) };
}
