// The `cds.integration.*` variables of a job, named as CDS names them. A deployment model's
// integration is `cds.integration.deployment` (its name) and `cds.integration.deployment.<key>`
// (each setting), an artifact manager's `cds.integration.artifact_manager[.<key>]`, any other
// model's plainly `cds.integration.<key>`. The integration the node names (`integration:`) is
// also given in CDS's older form — `cds.integration` (its name) and `cds.integration.<key>` —
// which older plugins still read (`cds.integration.token`). A deployment integration's settings
// are completed by the model's `additional_default_config` and the application's `deployments:`
// entry for it, which win. Passwords are given in clear and listed as secrets: the worker and
// the server mask them like password variables.

import { interpolate } from "../run/interpolate.ts";
import type { ApplicationDeployments, IntegrationConfig, IntegrationModel, JobIntegration } from "./model.ts";

export const INTEGRATION_VARIABLE_ROOT = "cds.integration";

/** CDS's variable prefix of a model: what it is used for decides its namespace. */
export function integrationPrefix(model: Pick<IntegrationModel, "deployment" | "artifactManager">): string {
	if (model.deployment) return "deployment";
	if (model.artifactManager) return "artifact_manager";
	return "";
}

export interface IntegrationVariableInput {
	/** The project integrations the job uses, passwords opened, models attached. */
	integrations: readonly JobIntegration[];
	/** The integration the node names (`integration:` on the node), if any. */
	node?: string;
	/** The integrations the workflow names (`integrations:` in v2.0). */
	workflow?: readonly string[];
	/** The settings the workflow gives each of them (`integrations: {name: {config}}`): they win over the project's. */
	workflowSettings?: Record<string, IntegrationConfig>;
	/** The `deployments:` of the node's application, passwords opened. */
	deployments?: ApplicationDeployments;
	/** The job's other variables: setting values may refer to them (`{{.cds.version}}`). */
	vars?: Record<string, string>;
}

/** The settings of one integration as the job sees them (model defaults, then deployments). */
export function effectiveSettings(
	integration: JobIntegration,
	deployments: ApplicationDeployments | undefined,
	workflow?: IntegrationConfig,
): IntegrationConfig {
	const settings: IntegrationConfig = { ...integration.config, ...workflow };
	if (integration.modelDef.deployment) {
		for (const [key, s] of Object.entries(integration.modelDef.additionalDefaultConfig ?? {}))
			if (!(key in settings) || settings[key]!.value === "") settings[key] = s;
		Object.assign(settings, deployments?.[integration.name] ?? {});
	}
	return settings;
}

/**
 * The `cds.integration.*` variables of a job and the clear passwords among them. Workflow
 * integrations are given only for deployment and artifact-manager models (as CDS does: their
 * prefix keeps them apart); the node's integration comes last and wins.
 */
export function integrationVariables(input: IntegrationVariableInput): {
	vars: Record<string, string>;
	secrets: string[];
} {
	const byName = new Map(input.integrations.map((i) => [i.name, i]));
	const vars: Record<string, string> = {};
	const secrets = new Set<string>();
	const put = (integration: JobIntegration, prefixes: string[]) => {
		const settings = effectiveSettings(
			integration,
			input.deployments,
			input.workflowSettings?.[integration.name],
		);
		for (const prefix of prefixes) {
			const root = prefix ? `${INTEGRATION_VARIABLE_ROOT}.${prefix}` : INTEGRATION_VARIABLE_ROOT;
			vars[root] = integration.name;
			for (const [key, s] of Object.entries(settings)) {
				// CDS interpolates build parameters once, with the others: `{{.cds.version}}` is the run's.
				const value = interpolate(s.value, input.vars ?? {});
				vars[`${root}.${key}`] = value;
				if (s.type === "password" && value !== "") secrets.add(value);
			}
		}
	};
	for (const name of input.workflow ?? []) {
		const integration = byName.get(name);
		if (!integration || name === input.node) continue;
		const prefix = integrationPrefix(integration.modelDef);
		if (prefix) put(integration, [prefix]);
	}
	const node = input.node ? byName.get(input.node) : undefined;
	if (node) {
		const prefix = integrationPrefix(node.modelDef);
		put(node, prefix ? ["", prefix] : [""]);
	}
	return { vars, secrets: [...secrets] };
}

/** The integration names a job needs from its project: the node's first, then the workflow's. */
export function integrationNamesOfJob(
	node: string | undefined,
	workflow: readonly string[] | undefined,
): string[] {
	return [...new Set([...(node ? [node] : []), ...(workflow ?? [])])];
}
