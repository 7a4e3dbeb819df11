import { stringify } from "yaml";
import { VCS_FIELDS } from "./parse-app-env.ts";
import { exportIntegrationModel, exportProjectIntegration } from "../integrations/export.ts";
import { settingsOut } from "../integrations/settings.ts";
import { formatDuration } from "./parse-common.ts";
import {
	type Application,
	type Conditions,
	type Environment,
	type FileSetModel,
	type Job,
	type JsonObject,
	type JsonValue,
	type Pipeline,
	SEALED_PREFIX,
	type Step,
	type Variable,
	type Workflow,
	type WorkflowNode,
} from "./model.ts";

export interface ExportOptions {
	/** Opens a project-sealed text: an imported password still holding its value is written as imported. */
	openSecret?: (sealed: string) => string;
	/**
	 * Seals a clear password value; the result is written as is (prefixed with `enc:v1:` if the
	 * callback did not). Required as soon as an unsealed password is exported: secrets are
	 * never written in clear.
	 */
	sealSecret?: (plain: string) => string;
}

export interface ExportedFile {
	path: string;
	content: string;
}

type Out = Record<string, unknown>;

/** Deterministic YAML: callers build objects in canonical key order. */
function toYaml(value: Out): string {
	return stringify(value, {
		lineWidth: 0,
		minContentWidth: 0,
		indentSeq: true,
		aliasDuplicateObjects: false,
	});
}

function sortedRecord<T, U>(record: Record<string, T>, map: (value: T) => U): Record<string, U> {
	const out: Record<string, U> = {};
	for (const key of Object.keys(record).sort()) out[key] = map(record[key]!);
	return out;
}

function set(out: Out, key: string, value: unknown, keep: boolean): void {
	if (keep) out[key] = value;
}

function conditionsOut(conditions: Conditions): Out | undefined {
	if (conditions.checks.length === 0 && conditions.script === undefined) return undefined;
	const out: Out = {};
	if (conditions.checks.length > 0) {
		out["check"] = conditions.checks.map((c) => ({
			variable: c.variable,
			operator: c.operator,
			value: c.value,
		}));
	}
	set(out, "script", conditions.script, conditions.script !== undefined);
	return out;
}

/** Keys shared by a v2.0 node and a v1.0 workflow document, in CDS's order. */
function nodeBody(node: WorkflowNode, out: Out): void {
	set(out, "pipeline", node.pipeline, node.pipeline !== undefined);
	set(out, "application", node.application, node.application !== undefined);
	set(out, "environment", node.environment, node.environment !== undefined);
	set(out, "integration", node.integration, node.integration !== undefined);
	set(out, "one_at_a_time", true, node.oneAtATime);
	set(out, "when", node.when, node.when.length > 0);
	const conditions = conditionsOut(node.conditions);
	set(out, "conditions", conditions, conditions !== undefined);
	set(out, "payload", node.payload, node.payload !== undefined);
	set(
		out,
		"parameters",
		sortedRecord(node.parameters, (v) => v),
		Object.keys(node.parameters).length > 0,
	);
	const ws = node.persistentWorkspace;
	if (ws)
		out["persistent_workspace"] =
			ws.size === undefined ? { name: ws.name } : { name: ws.name, size: ws.size };
}

function hookOut(hook: Workflow["hooks"][number]): Out {
	const out: Out = { type: hook.type };
	set(out, "ref", hook.ref, hook.ref !== undefined);
	set(
		out,
		"config",
		sortedRecord(hook.config, (v) => v),
		Object.keys(hook.config).length > 0,
	);
	return out;
}

function workflowTail(workflow: Workflow, out: Out, options: ExportOptions): void {
	if (workflow.notifications.length > 0) {
		out["notifications"] = workflow.notifications.map((n) => {
			const item: Out = { type: n.type };
			set(item, "pipelines", n.nodes, n.nodes.length > 0);
			set(item, "integration", n.integration, n.integration !== undefined);
			set(item, "settings", n.settings, Object.keys(n.settings).length > 0);
			return item;
		});
	}
	set(
		out,
		"metadata",
		sortedRecord(workflow.metadata, (v) => v),
		Object.keys(workflow.metadata).length > 0,
	);
	set(out, "retention_policy", workflow.retentionPolicy, workflow.retentionPolicy !== undefined);
	set(out, "history_length", workflow.historyLength, workflow.historyLength !== undefined);
	set(
		out,
		"permissions",
		sortedRecord(workflow.permissions, (v) => v),
		Object.keys(workflow.permissions).length > 0,
	);
	if (workflow.integrations && Object.keys(workflow.integrations).length > 0) {
		out["integrations"] = sortedRecord(workflow.integrations, (i) => {
			const item: Out = {};
			set(item, "type", i.type, i.type !== undefined);
			const config = settingsOut(i.config, `workflow '${workflow.name}'`, options.sealSecret, {
				secrets: true,
				openExported: options.openSecret,
			});
			set(item, "config", config, Object.keys(config).length > 0);
			return item;
		});
	}
}

/** A workflow in CDS's canonical form: v1.0 for a single pipeline, v2.0 otherwise. */
export function exportWorkflow(workflow: Workflow, options: ExportOptions = {}): string {
	const out: Out = { name: workflow.name };
	set(out, "description", workflow.description, workflow.description !== undefined);
	out["version"] = workflow.version;
	if (workflow.version === "v1.0" && workflow.nodes.length === 1) {
		nodeBody(workflow.nodes[0]!, out);
		set(out, "pipeline_hooks", workflow.hooks.map(hookOut), workflow.hooks.length > 0);
	} else {
		const nodes: Out = {};
		for (const node of workflow.nodes) {
			const body: Out = {};
			set(body, "depends_on", node.dependsOn, node.dependsOn.length > 0);
			nodeBody(node, body);
			set(
				body,
				"permissions",
				sortedRecord(node.permissions, (v) => v),
				Object.keys(node.permissions).length > 0,
			);
			nodes[node.name] = body;
		}
		out["workflow"] = nodes;
		if (workflow.hooks.length > 0) {
			const hooks: Record<string, Out[]> = {};
			for (const hook of workflow.hooks) {
				hooks[hook.node] = [...(hooks[hook.node] ?? []), hookOut(hook)];
			}
			out["hooks"] = hooks;
		}
	}
	workflowTail(workflow, out, options);
	return toYaml(out);
}

function stepOut(step: Step): Out {
	const out: Out = {};
	set(out, "name", step.name, step.name !== undefined);
	set(out, "enabled", false, !step.enabled);
	set(out, "optional", true, step.optional);
	set(out, "always_executed", true, step.alwaysExecuted);
	set(
		out,
		"timeout",
		step.timeout === undefined ? undefined : formatDuration(step.timeout),
		step.timeout !== undefined,
	);
	const action = step.action;
	if (action.kind === "script") out["script"] = action.script;
	else if (action.kind === "builtin") out[action.name] = action.params;
	else
		out[action.kind] = { name: action.name, ...(action.params as JsonObject) } satisfies Record<
			string,
			JsonValue
		>;
	return out;
}

function jobOut(job: Job): Out {
	const out: Out = { job: job.name };
	set(out, "stage", job.stage, job.stage !== undefined);
	set(out, "description", job.description, job.description !== undefined);
	set(out, "enabled", false, !job.enabled);
	set(out, "optional", true, job.optional);
	set(out, "always_executed", true, job.alwaysExecuted);
	set(out, "retry", job.retry, job.retry > 0);
	set(
		out,
		"timeout",
		job.timeout === undefined ? undefined : formatDuration(job.timeout),
		job.timeout !== undefined,
	);
	set(out, "steps", job.steps.map(stepOut), job.steps.length > 0);
	set(
		out,
		"requirements",
		job.requirements.map((r) =>
			r.type === "service" ? { service: { name: r.name, value: r.value } } : { [r.type]: r.value },
		),
		job.requirements.length > 0,
	);
	return out;
}

/** A pipeline as CDS writes it (`version: v1.0`). */
export function exportPipeline(pipeline: Pipeline): string {
	const out: Out = { version: "v1.0", name: pipeline.name };
	set(out, "description", pipeline.description, pipeline.description !== undefined);
	if (Object.keys(pipeline.parameters).length > 0) {
		out["parameters"] = sortedRecord(pipeline.parameters, (p) => {
			const param: Out = { type: p.type };
			set(param, "default", p.default, p.default !== "");
			set(param, "description", p.description, p.description !== "");
			return param;
		});
	}
	set(
		out,
		"stages",
		pipeline.stages.map((s) => s.name),
		pipeline.stages.length > 0,
	);
	const options: Out = {};
	for (const stage of pipeline.stages) {
		const option: Out = {};
		set(option, "enabled", false, !stage.enabled);
		const conditions = conditionsOut(stage.conditions);
		set(option, "conditions", conditions, conditions !== undefined);
		if (Object.keys(option).length > 0) options[stage.name] = option;
	}
	set(out, "options", options, Object.keys(options).length > 0);
	set(out, "jobs", pipeline.jobs.map(jobOut), pipeline.jobs.length > 0);
	return toYaml(out);
}

function sealed(variable: Variable, what: string, options: ExportOptions): string {
	if (variable.sealed) return variable.value;
	if (variable.asImported !== undefined) {
		// The text the import read, while it still holds this value: byte-stable round trips.
		try {
			if (!options.openSecret || options.openSecret(variable.asImported) === variable.value)
				return variable.asImported;
		} catch {
			// sealed with another key: seal afresh
		}
	}
	if (!options.sealSecret)
		throw new Error(`sealSecret is required to export ${what}: secrets are never written in clear`);
	const value = options.sealSecret(variable.value);
	return value.startsWith(SEALED_PREFIX) ? value : SEALED_PREFIX + value;
}

function variablesOut(variables: Record<string, Variable>, where: string, options: ExportOptions): Out {
	const out: Out = {};
	for (const name of Object.keys(variables).sort()) {
		const v = variables[name]!;
		const value =
			v.type === "password" ? sealed(v, `password variable '${name}' of ${where}`, options) : v.value;
		out[name] = { type: v.type, value };
	}
	return out;
}

export function exportApplication(application: Application, options: ExportOptions = {}): string {
	const where = `application '${application.name}'`;
	const out: Out = { version: "v1.0", name: application.name };
	set(out, "description", application.description, application.description !== undefined);
	set(out, "vcs_server", application.vcsServer, application.vcsServer !== undefined);
	set(out, "repo", application.repo, application.repo !== undefined);
	for (const key of VCS_FIELDS) set(out, key, application.vcs[key], application.vcs[key] !== undefined);
	if (application.vcsPassword)
		out["vcs_password"] = sealed(application.vcsPassword, `vcs_password of ${where}`, options);
	const variables = Object.keys(application.variables).length > 0;
	set(
		out,
		"variables",
		variables ? variablesOut(application.variables, where, options) : undefined,
		variables,
	);
	set(
		out,
		"keys",
		sortedRecord(application.keys, (k) => ({ type: k.type })),
		Object.keys(application.keys).length > 0,
	);
	if (application.deployments && Object.keys(application.deployments).length > 0) {
		out["deployments"] = sortedRecord(application.deployments, (config) =>
			settingsOut(config, where, options.sealSecret, { secrets: true, openExported: options.openSecret }),
		);
	}
	return toYaml(out);
}

export function exportEnvironment(environment: Environment, options: ExportOptions = {}): string {
	const where = `environment '${environment.name}'`;
	const out: Out = { version: "v1.0", name: environment.name };
	set(out, "description", environment.description, environment.description !== undefined);
	const values = Object.keys(environment.variables).length > 0;
	set(out, "values", values ? variablesOut(environment.variables, where, options) : undefined, values);
	set(
		out,
		"keys",
		sortedRecord(environment.keys, (k) => ({ type: k.type })),
		Object.keys(environment.keys).length > 0,
	);
	return toYaml(out);
}

/** A name made safe as a file name (CDS names rarely need it). */
function fileName(name: string): string {
	return [...name].map((c) => (c.charCodeAt(0) < 32 || '/\\:*?"<>|'.includes(c) ? "_" : c)).join("");
}

/**
 * Every entity of a file set as CDS names its files: `<workflow>.yml`, `<pipeline>.pip.yml`,
 * `<app>.app.yml`, `<env>.env.yml`. Applications and environments listed as missing are not
 * written: re-importing the files lists them as missing again.
 */
export function exportWorkflowFiles(set: FileSetModel, options: ExportOptions = {}): ExportedFile[] {
	return [
		...(set.integrationModels ?? []).map((m) => ({
			path: `${fileName(m.name)}.model.yml`,
			content: exportIntegrationModel(m),
		})),
		...(set.integrations ?? []).map((i) => ({
			path: `${fileName(i.name)}.integration.yml`,
			content: exportProjectIntegration(i, options),
		})),
		...set.workflows.map((w) => ({ path: `${fileName(w.name)}.yml`, content: exportWorkflow(w, options) })),
		...set.pipelines.map((p) => ({ path: `${fileName(p.name)}.pip.yml`, content: exportPipeline(p) })),
		...set.applications.map((a) => ({
			path: `${fileName(a.name)}.app.yml`,
			content: exportApplication(a, options),
		})),
		...set.environments.map((e) => ({
			path: `${fileName(e.name)}.env.yml`,
			content: exportEnvironment(e, options),
		})),
	];
}
