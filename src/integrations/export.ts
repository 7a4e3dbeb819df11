// Integration files in canonical form: what the parsers of parse.ts read back to the same
// value. Keys in CDS's order; only set flags are written; passwords of a project integration
// are sealed with the project key (the imported text again while the value is unchanged).

import { stringify } from "yaml";
import { FLAG_KEYS, type ParsedIntegration, type ParsedModel } from "./parse.ts";
import { INTEGRATION_FLAGS } from "./model.ts";
import { settingsOut } from "./settings.ts";

export interface SealOptions {
	/** Seals a clear password with the project key. */
	sealSecret?: (plain: string) => string;
	/** Opens a project-sealed text, to tell whether an imported one still holds the value. */
	openSecret?: (sealed: string) => string;
}

function toYaml(value: Record<string, unknown>): string {
	return stringify(value, {
		lineWidth: 0,
		minContentWidth: 0,
		indentSeq: true,
		aliasDuplicateObjects: false,
	});
}

export function exportIntegrationModel(model: ParsedModel): string {
	const where = `integration model '${model.name}'`;
	const settings = (c: ParsedModel["defaultConfig"]) =>
		settingsOut(c, where, undefined, { secrets: false, valueFirst: true });
	const out: Record<string, unknown> = { name: model.name };
	if (model.author !== undefined) out.author = model.author;
	if (model.identifier !== undefined) out.identifier = model.identifier;
	if (model.icon !== undefined) out.icon = model.icon;
	out.default_config = settings(model.defaultConfig);
	if (model.additionalDefaultConfig !== undefined)
		out.additional_default_config = settings(model.additionalDefaultConfig);
	if (model.publicConfigurations !== undefined) {
		const pub: Record<string, unknown> = {};
		for (const name of Object.keys(model.publicConfigurations).sort())
			pub[name] = settings(model.publicConfigurations[name]!);
		out.public_configurations = pub;
	}
	if (model.disabled) out.disabled = true;
	for (const flag of INTEGRATION_FLAGS) if (model[flag]) out[FLAG_KEYS[flag]] = true;
	if (model.public) out.public = true;
	return toYaml(out);
}

export function exportProjectIntegration(integration: ParsedIntegration, options: SealOptions = {}): string {
	return toYaml({
		name: integration.name,
		model: { name: integration.model },
		config: settingsOut(integration.config, `integration '${integration.name}'`, options.sealSecret, {
			secrets: true,
			valueFirst: true,
			openExported: options.openSecret,
		}),
	});
}
