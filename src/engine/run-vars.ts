// The variables a run and each of its jobs see, named as CDS names them: cds.project,
// cds.workflow, cds.version, cds.application, cds.environment, cds.pipeline, cds.app.*,
// cds.env.*, cds.proj.*, cds.pip.*, cds.build.*, git.*, and the payload's keys.

export interface VariableValue {
	type: string;
	/** Clear value (the caller opens sealed passwords before building variables). */
	value: string;
}

/** Flattens a JSON payload into dotted keys: {git: {branch: "x"}} → {"git.branch": "x"}. */
export function flattenPayload(
	payload: unknown,
	prefix = "",
	out: Record<string, string> = {},
): Record<string, string> {
	if (payload === null || payload === undefined) return out;
	if (typeof payload !== "object") {
		if (prefix) out[prefix] = String(payload);
		return out;
	}
	if (Array.isArray(payload)) {
		if (prefix) out[prefix] = JSON.stringify(payload);
		return out;
	}
	for (const [k, v] of Object.entries(payload as Record<string, unknown>)) {
		flattenPayload(v, prefix ? `${prefix}.${k}` : k, out);
	}
	return out;
}

export interface RunVariableInput {
	project: string;
	workflow: string;
	number: number;
	branch: string;
	commit?: string;
	payload?: unknown;
	/** `-p name=value` given when the run was requested. */
	params?: Record<string, string>;
	triggeredBy: string;
}

/**
 * Variables of the whole run, stored with it: no secret among them (project, application and
 * environment variables are added per job, when the job's worker asks for them).
 * Payload and params may set git.* (e.g. git.branch).
 */
export function runVariables(input: RunVariableInput): Record<string, string> {
	const vars: Record<string, string> = {};
	Object.assign(vars, flattenPayload(input.payload));
	Object.assign(vars, input.params ?? {});
	vars["git.branch"] ??= input.branch;
	if (input.commit) vars["git.hash"] ??= input.commit;
	if (vars["git.hash"]) vars["git.hash.short"] ??= vars["git.hash"].slice(0, 7);
	Object.assign(vars, {
		"cds.project": input.project,
		"cds.workflow": input.workflow,
		"cds.version": String(input.number),
		"cds.run.number": String(input.number),
		"cds.triggered_by.username": input.triggeredBy,
	});
	return vars;
}

export interface JobVariableInput {
	run: Record<string, string>;
	build: Record<string, string>;
	project: Record<string, VariableValue>;
	node: string;
	pipeline: string;
	stage: string;
	job: string;
	application?: { name: string; variables: Record<string, VariableValue> };
	environment?: { name: string; variables: Record<string, VariableValue> };
	pipelineParameters: Record<string, string>;
	nodeParameters: Record<string, string>;
	publicUrl: string;
	runUrl: string;
}

/** Variables of one job, and the clear values among them that must be masked in logs. */
export function jobVariables(input: JobVariableInput): { vars: Record<string, string>; secrets: string[] } {
	const vars: Record<string, string> = { ...input.run };
	const secrets = new Set<string>();
	const add = (prefix: string, variables: Record<string, VariableValue>) => {
		for (const [name, v] of Object.entries(variables)) {
			vars[`${prefix}${name}`] = v.value;
			if (v.type === "password") secrets.add(v.value);
		}
	};
	add("cds.proj.", input.project);
	if (input.application) {
		vars["cds.application"] = input.application.name;
		add("cds.app.", input.application.variables);
	}
	if (input.environment) {
		vars["cds.environment"] = input.environment.name;
		add("cds.env.", input.environment.variables);
	}
	for (const [k, v] of Object.entries({ ...input.pipelineParameters, ...input.nodeParameters }))
		vars[`cds.pip.${k}`] = v;
	for (const [k, v] of Object.entries(input.build)) vars[`cds.build.${k}`] = v;
	Object.assign(vars, {
		"cds.node": input.node,
		"cds.pipeline": input.pipeline,
		"cds.stage": input.stage,
		"cds.job": input.job,
		"cds.url": input.publicUrl,
		"cds.buildURL": input.runUrl,
	});
	return { vars, secrets: [...secrets].filter((s) => s.length > 0) };
}
