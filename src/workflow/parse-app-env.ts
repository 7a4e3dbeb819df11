import type { Node, YAMLMap } from "yaml";
import type { Application, Environment } from "./model.ts";
import { oneOf, type ParseOptions, parseKeys, parseVariables, readSecret } from "./parse-common.ts";
import type { SourceFile } from "./source.ts";
import { parseSettings, type SettingsConfig } from "../integrations/settings.ts";

/** The `vcs_*` fields CDS writes on an application, vcs_password aside (it is a secret). */
export const VCS_FIELDS = [
	"vcs_branch",
	"vcs_default_branch",
	"vcs_connection_type",
	"vcs_ssh_key",
	"vcs_user",
	"vcs_pgp_key",
] as const;
export const APPLICATION_KEYS: readonly string[] = [
	"version",
	"name",
	"description",
	"variables",
	"keys",
	"vcs_server",
	"repo",
	...VCS_FIELDS,
	"vcs_password",
	"deployments",
];
/** CDS writes environment variables under `values`; `variables` is accepted as a synonym. */
const ENVIRONMENT_KEYS: readonly string[] = ["version", "name", "description", "values", "variables", "keys"];

export interface Parsed<T> {
	entity: T;
	nameNode: Node | null;
}

export function parseApplication(
	src: SourceFile,
	map: YAMLMap,
	options: ParseOptions,
): Parsed<Application> | undefined {
	const fields = src.knownFields(map, "application", APPLICATION_KEYS);
	src.require(fields, ["name"], "application", map);
	if (fields.has("version")) oneOf(src, fields.get("version"), ["v1.0"], "application version");
	const name = src.string(fields.get("name"), "application name");
	const where = `application '${name ?? "?"}'`;
	const vcs: Record<string, string> = {};
	for (const key of VCS_FIELDS) {
		const value = src.string(fields.get(key), key, { allowEmpty: true });
		if (value !== undefined && value !== "") vcs[key] = value;
	}
	const passwordField = fields.get("vcs_password");
	const password = src.string(passwordField, "vcs_password", { allowEmpty: true });
	const application: Application = {
		name: name ?? "",
		description: src.string(fields.get("description"), "application description", { allowEmpty: true }),
		variables: parseVariables(src, fields.get("variables"), where, options),
		keys: parseKeys(src, fields.get("keys"), where),
		vcsServer: src.string(fields.get("vcs_server"), "vcs_server"),
		repo: src.string(fields.get("repo"), "repo"),
		vcs,
		vcsPassword:
			password === undefined || password === ""
				? undefined
				: readSecret(src, password, passwordField!.value, `vcs_password of ${where}`, options),
	};
	const deploymentsField = fields.get("deployments");
	if (deploymentsField && !src.isEmpty(deploymentsField.value)) {
		const map = src.map(deploymentsField.value, `deployments of ${where}`, deploymentsField.keyNode);
		const deployments: Record<string, SettingsConfig> = {};
		for (const entry of map ? src.fields(map) : []) {
			deployments[entry.key] = parseSettings(src, entry, `the deployment of ${where} on '${entry.key}'`, {
				...options,
				secrets: true,
			});
		}
		application.deployments = deployments;
	}
	return name === undefined ? undefined : { entity: application, nameNode: fields.get("name")!.value };
}

export function parseEnvironment(
	src: SourceFile,
	map: YAMLMap,
	options: ParseOptions,
): Parsed<Environment> | undefined {
	const fields = src.knownFields(map, "environment", ENVIRONMENT_KEYS);
	src.require(fields, ["name"], "environment", map);
	if (fields.has("version")) oneOf(src, fields.get("version"), ["v1.0"], "environment version");
	if (fields.has("values") && fields.has("variables")) {
		src.error(
			"invalid-value",
			"an environment has either 'values' or 'variables', not both",
			fields.get("variables")!.keyNode,
		);
	}
	const name = src.string(fields.get("name"), "environment name");
	const where = `environment '${name ?? "?"}'`;
	const environment: Environment = {
		name: name ?? "",
		description: src.string(fields.get("description"), "environment description", { allowEmpty: true }),
		variables: parseVariables(src, fields.get("values") ?? fields.get("variables"), where, options),
		keys: parseKeys(src, fields.get("keys"), where),
	};
	return name === undefined ? undefined : { entity: environment, nameNode: fields.get("name")!.value };
}
