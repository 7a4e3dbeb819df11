// CDS's integration files, read with located diagnostics: integration models, project
// integrations, action-plugin manifests and their per-platform binary descriptors.

import { isMap, type Node, type YAMLMap } from "yaml";
import { oneOf, type ParseOptions } from "../workflow/parse-common.ts";
import type { Field, SourceFile } from "../workflow/source.ts";
import { INTEGRATION_FLAGS, type IntegrationFlag, type IntegrationModel } from "./model.ts";
import { declaredSettings, type ModelShape } from "./model-check.ts";
import { parseSettings, type SettingsConfig } from "./settings.ts";
import { keystoneV3Url, OPENSTACK_MODEL } from "./openstack-env.ts";

/** YAML key of each capability flag, as CDS spells it. */
export const FLAG_KEYS: Record<IntegrationFlag, string> = {
	storage: "storage",
	deployment: "deployment",
	compute: "compute",
	hook: "hook",
	event: "event",
	artifactManager: "artifact_manager",
};

export const MODEL_KEYS: readonly string[] = [
	"name",
	"author",
	"identifier",
	"icon",
	"default_config",
	"additional_default_config",
	// CDS's former name of additional_default_config.
	"deployment_default_config",
	"public_configurations",
	"disabled",
	...Object.values(FLAG_KEYS),
	"public",
];
export const PROJECT_INTEGRATION_KEYS: readonly string[] = ["name", "model", "config"];
export const PLUGIN_KEYS: readonly string[] = [
	"name",
	"type",
	"integration",
	"author",
	"description",
	"parameters",
];
export const BINARY_KEYS: readonly string[] = ["os", "arch", "entrypoints", "cmd", "args", "requirements"];

/** CDS's plugin types: action plugins and the integration plugins of each capability. */
export const PLUGIN_TYPES = [
	"action",
	"integration",
	"integration-deploy_application",
	"integration-upload_artifact",
	"integration-download_artifact",
	"integration-build_info",
	"integration-promote",
	"integration-release",
] as const;
export type PluginType = (typeof PLUGIN_TYPES)[number];

/** An integration model as read: the contract's model with sealing bookkeeping on settings. */
export interface ParsedModel
	extends Omit<IntegrationModel, "defaultConfig" | "additionalDefaultConfig" | "publicConfigurations"> {
	defaultConfig: SettingsConfig;
	additionalDefaultConfig?: SettingsConfig;
	publicConfigurations?: Record<string, SettingsConfig>;
	disabled?: boolean;
}

export interface ParsedIntegration {
	name: string;
	model: string;
	config: SettingsConfig;
}

export interface PluginParameter {
	type: string;
	default: string;
	description: string;
	advanced: boolean;
}

export interface PluginManifest {
	name: string;
	type: PluginType;
	integration: string | undefined;
	author: string;
	description: string;
	parameters: Record<string, PluginParameter>;
}

export interface PluginBinary {
	os: string;
	arch: string;
	cmd: string;
	args: string[];
	entrypoints: string[];
	requirements: Array<{ name: string; type: string; value: string }>;
}

export interface Parsed<T> {
	entity: T;
	nameNode: Node | null;
}

export function parseIntegrationModel(src: SourceFile, map: YAMLMap): Parsed<ParsedModel> | undefined {
	const fields = src.knownFields(map, "integration model", MODEL_KEYS);
	src.require(fields, ["name"], "integration model", map);
	const name = src.string(fields.get("name"), "integration model name");
	const where = `integration model '${name ?? "?"}'`;
	if (fields.has("additional_default_config") && fields.has("deployment_default_config")) {
		src.error(
			"invalid-value",
			"an integration model has either 'additional_default_config' or its former name 'deployment_default_config', not both",
			fields.get("deployment_default_config")!.keyNode,
		);
	}
	const text = (key: string) => {
		const v = src.string(fields.get(key), `${key} of ${where}`, { allowEmpty: true });
		return v === "" ? undefined : v;
	};
	const flag = (key: string) =>
		fields.has(key) ? (src.boolean(fields.get(key), `${key} of ${where}`) ?? false) : false;
	const model: ParsedModel = {
		name: name ?? "",
		defaultConfig: parseSettings(src, fields.get("default_config"), where, { secrets: false }),
		storage: flag("storage"),
		deployment: flag("deployment"),
		compute: flag("compute"),
		hook: flag("hook"),
		event: flag("event"),
		artifactManager: flag("artifact_manager"),
		public: flag("public"),
	};
	for (const key of ["author", "identifier", "icon"] as const) {
		const v = text(key);
		if (v !== undefined) model[key] = v;
	}
	const additional = fields.get("additional_default_config") ?? fields.get("deployment_default_config");
	if (additional) model.additionalDefaultConfig = parseSettings(src, additional, where, { secrets: false });
	const publicField = fields.get("public_configurations");
	if (publicField && !src.isEmpty(publicField.value)) {
		const configs = src.map(publicField.value, `public_configurations of ${where}`, publicField.keyNode);
		model.publicConfigurations = {};
		for (const entry of configs ? src.fields(configs) : []) {
			model.publicConfigurations[entry.key] = parseSettings(
				src,
				entry,
				`public configuration '${entry.key}' of ${where}`,
				{ secrets: false },
			);
		}
	}
	if (fields.has("disabled")) model.disabled = flag("disabled");
	return name === undefined ? undefined : { entity: model, nameNode: fields.get("name")!.value };
}

/** `model:` is the model's name, or (as CDS writes it) a mapping holding it. */
function modelName(
	src: SourceFile,
	field: Field | undefined,
	where: string,
): { name: string | undefined; node: Node | null } {
	if (!field) return { name: undefined, node: null };
	if (!isMap(field.value)) return { name: src.string(field, `model of ${where}`), node: field.value };
	const map = field.value;
	// CDS embeds the whole model; only its name says which one, the rest is the model's own.
	const fields = src.knownFields(map, `model of ${where}`, MODEL_KEYS);
	if (!src.require(fields, ["name"], `model of ${where}`, map)) return { name: undefined, node: map };
	return {
		name: src.string(fields.get("name"), `model name of ${where}`),
		node: fields.get("name")!.value,
	};
}

/**
 * `findModel` gives the model a `model:` names when it is known (in the file set, on the
 * server or built in): the settings are then checked against it. An unknown model is
 * reported by the file set's reference check.
 */
export function parseProjectIntegration(
	src: SourceFile,
	map: YAMLMap,
	options: ParseOptions,
	findModel: (name: string) => ModelShape | undefined = () => undefined,
): (Parsed<ParsedIntegration> & { modelNode: Node | null }) | undefined {
	const fields = src.knownFields(map, "project integration", PROJECT_INTEGRATION_KEYS);
	src.require(fields, ["name", "model"], "project integration", map);
	const name = src.string(fields.get("name"), "project integration name");
	const where = `integration '${name ?? "?"}'`;
	const model = modelName(src, fields.get("model"), where);
	const modelDef = model.name === undefined ? undefined : findModel(model.name);
	const config = parseSettings(src, fields.get("config"), where, {
		...options,
		secrets: true,
		...(modelDef ? { declared: { settings: declaredSettings(modelDef), integration: name ?? "?" } } : {}),
	});
	if (model.name === OPENSTACK_MODEL) warnKeystoneV2(src, fields.get("config"), config, where);
	if (name === undefined || model.name === undefined) return undefined;
	return {
		entity: { name, model: model.name, config },
		nameNode: fields.get("name")!.value,
		modelNode: model.node,
	};
}

/** An Openstack integration's v2.0 `address` works (as v3 at that host): said where it is written. */
function warnKeystoneV2(
	src: SourceFile,
	configField: Field | undefined,
	config: Record<string, { value: string }>,
	where: string,
): void {
	const address = config.address?.value;
	const warning = address ? keystoneV3Url(address).warning : undefined;
	if (!warning) return;
	const map = configField && isMap(configField.value) ? (configField.value as YAMLMap) : undefined;
	const entry = map ? src.fields(map).find((f) => f.key === "address") : undefined;
	// `address: {value, type}` (CDS's form) or `address: URL`: pointed at the URL itself.
	const inner =
		entry && isMap(entry.value)
			? src.fields(entry.value as YAMLMap).find((f) => f.key === "value")
			: undefined;
	src.warn(
		"invalid-value",
		`${where}: ${warning}`,
		inner?.value ?? entry?.value ?? configField?.keyNode ?? null,
	);
}

export function parsePluginManifest(src: SourceFile, map: YAMLMap): Parsed<PluginManifest> | undefined {
	const fields = src.knownFields(map, "plugin manifest", PLUGIN_KEYS);
	// CDS refuses a plugin without any of these four.
	src.require(fields, ["name", "type", "author", "description"], "plugin manifest", map);
	const name = src.string(fields.get("name"), "plugin name");
	const where = `plugin '${name ?? "?"}'`;
	const type = oneOf<PluginType>(src, fields.get("type"), PLUGIN_TYPES, `type of ${where}`);
	const integration = src.string(fields.get("integration"), `integration of ${where}`, { allowEmpty: true });
	if (type !== undefined && type !== "action" && !integration) {
		src.error("missing-key", `${where} of type ${type} must name its integration model ('integration')`, map);
	}
	const parameters: Record<string, PluginParameter> = {};
	const paramsField = fields.get("parameters");
	if (paramsField && !src.isEmpty(paramsField.value)) {
		const params = src.map(paramsField.value, `parameters of ${where}`, paramsField.keyNode);
		for (const entry of params ? src.fields(params) : []) {
			const what = `parameter '${entry.key}' of ${where}`;
			const pmap = src.isEmpty(entry.value) ? undefined : src.map(entry.value, what, entry.keyNode);
			const pf = pmap
				? src.knownFields(pmap, what, ["type", "default", "description", "advanced"])
				: new Map();
			parameters[entry.key] = {
				type: src.string(pf.get("type"), `type of ${what}`) ?? "string",
				default: src.string(pf.get("default"), `default of ${what}`, { allowEmpty: true }) ?? "",
				description: src.string(pf.get("description"), `description of ${what}`, { allowEmpty: true }) ?? "",
				advanced: src.boolean(pf.get("advanced"), `advanced of ${what}`) ?? false,
			};
		}
	}
	const author = src.string(fields.get("author"), `author of ${where}`);
	const description = src.string(fields.get("description"), `description of ${where}`);
	if (name === undefined || type === undefined || author === undefined || description === undefined)
		return undefined;
	return {
		entity: { name, type, integration: integration || undefined, author, description, parameters },
		nameNode: fields.get("name")!.value,
	};
}

export const BINARY_OS = ["linux", "darwin", "windows", "freebsd", "openbsd", "netbsd"] as const;
export const BINARY_ARCH = ["amd64", "386", "arm", "arm64", "ppc64le", "s390x"] as const;

export function parsePluginBinary(src: SourceFile, map: YAMLMap): PluginBinary | undefined {
	const fields = src.knownFields(map, "plugin binary descriptor", BINARY_KEYS);
	src.require(fields, ["os", "arch", "cmd"], "plugin binary descriptor", map);
	const os = oneOf(src, fields.get("os"), BINARY_OS, "os of the plugin binary");
	const arch = oneOf(src, fields.get("arch"), BINARY_ARCH, "arch of the plugin binary");
	const cmd = src.string(fields.get("cmd"), "cmd of the plugin binary");
	const list = (key: string) =>
		(src.stringList(fields.get(key), `${key} of the plugin binary`) ?? []).map((i) => i.value);
	const requirements: PluginBinary["requirements"] = [];
	const reqField = fields.get("requirements");
	if (reqField && !src.isEmpty(reqField.value)) {
		const seq = src.seq(reqField.value, "requirements of the plugin binary", reqField.keyNode);
		for (const item of seq ? src.items(seq) : []) {
			const what = "a requirement of the plugin binary";
			const rmap = src.map(item, what);
			if (!rmap) continue;
			const rf = src.knownFields(rmap, what, ["name", "type", "value"]);
			// CDS's own fixtures write `- name: python`: a binary the worker needs, by its name.
			if (!rf.has("name") && !rf.has("value")) {
				src.error("missing-key", `${what} needs a 'name' or a 'value'`, rmap);
				continue;
			}
			const type = rf.has("type") ? src.string(rf.get("type"), `type of ${what}`) : "binary";
			const given = src.string(rf.get("name"), `name of ${what}`, { allowEmpty: true });
			const value = rf.has("value") ? src.string(rf.get("value"), `value of ${what}`) : given;
			const name = given || value;
			if (type !== undefined && value !== undefined && name !== undefined)
				requirements.push({ name, type, value });
		}
	}
	if (os === undefined || arch === undefined || cmd === undefined) return undefined;
	return { os, arch, cmd, args: list("args"), entrypoints: list("entrypoints"), requirements };
}

/** The capability flags a model has, in CDS's order (`deployment`, `hook`…). */
export function modelFlags(model: Pick<ParsedModel, IntegrationFlag>): IntegrationFlag[] {
	return INTEGRATION_FLAGS.filter((f) => model[f]);
}
