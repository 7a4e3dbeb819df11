/** The JobSpec the API hands a worker (`GET /api/v1/worker/job`), checked before anything runs. */

import type { Job, Step } from "../workflow/model.ts";

export interface LogLimits {
	maxLineBytes: number;
	maxStepBytes: number;
}

export interface JobSpec {
	id: string;
	attempt: number;
	runId: string;
	runNumber: number;
	project: string;
	workflow: string;
	node: string;
	pipeline: string;
	stage: string | undefined;
	job: Job;
	variables: Record<string, string>;
	secrets: string[];
	timeoutSeconds: number;
	stepTimeoutSeconds: number | null;
	heartbeatSeconds: number;
	logLimits: LogLimits;
	/** CDS_OUTBOUND_ALLOW of the server: what plugins may connect to besides public addresses. */
	outboundAllow: string[];
}

const DEFAULT_LOG_LIMITS: LogLimits = { maxLineBytes: 64 * 1024, maxStepBytes: 64 * 1024 * 1024 };
const DEFAULT_HEARTBEAT_SECONDS = 10;
const DEFAULT_TIMEOUT_SECONDS = 6 * 3600;

class JobSpecError extends Error {
	constructor(message: string) {
		super(`invalid job spec: ${message}`);
		this.name = "JobSpecError";
	}
}

function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

function positive(value: unknown, fallback: number): number {
	return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : fallback;
}

function text(value: unknown): string {
	return typeof value === "string" ? value : typeof value === "number" ? String(value) : "";
}

function parseStep(raw: unknown, index: number): Step {
	if (!isObject(raw)) throw new JobSpecError(`job.steps[${index}] is not an object`);
	const action = raw.action;
	if (!isObject(action) || typeof action.kind !== "string") {
		throw new JobSpecError(`job.steps[${index}].action has no kind`);
	}
	if (action.kind === "script" && !Array.isArray(action.script)) {
		throw new JobSpecError(`job.steps[${index}].action.script is not a list of lines`);
	}
	return {
		name: typeof raw.name === "string" ? raw.name : undefined,
		enabled: raw.enabled !== false,
		optional: raw.optional === true,
		alwaysExecuted: raw.alwaysExecuted === true,
		timeout: typeof raw.timeout === "number" && raw.timeout > 0 ? raw.timeout : undefined,
		action: action as unknown as Step["action"],
	};
}

/** Validates what the API sent; fills documented defaults for the optional knobs. */
export function parseJobSpec(raw: unknown): JobSpec {
	if (!isObject(raw)) throw new JobSpecError("not an object");
	const job = raw.job;
	if (!isObject(job)) throw new JobSpecError("job is missing");
	if (!Array.isArray(job.steps)) throw new JobSpecError("job.steps is not a list");
	const steps = job.steps.map(parseStep);

	const variables: Record<string, string> = {};
	if (raw.variables !== undefined) {
		if (!isObject(raw.variables)) throw new JobSpecError("variables is not an object");
		for (const [name, value] of Object.entries(raw.variables)) {
			if (typeof value === "string") variables[name] = value;
			else if (typeof value === "number" || typeof value === "boolean") variables[name] = String(value);
		}
	}
	const secrets = Array.isArray(raw.secrets)
		? raw.secrets.filter((s): s is string => typeof s === "string" && s.length > 0)
		: [];
	const limits = isObject(raw.logLimits) ? raw.logLimits : {};
	const stepTimeout = raw.stepTimeoutSeconds;

	return {
		id: text(raw.id),
		attempt: typeof raw.attempt === "number" ? raw.attempt : 0,
		runId: text(raw.runId),
		runNumber: typeof raw.runNumber === "number" ? raw.runNumber : 0,
		project: text(raw.project),
		workflow: text(raw.workflow),
		node: text(raw.node),
		pipeline: text(raw.pipeline),
		stage: typeof raw.stage === "string" ? raw.stage : undefined,
		job: { ...(job as unknown as Job), steps, name: text(job.name) },
		variables,
		secrets,
		timeoutSeconds: positive(raw.timeoutSeconds, positive(job.timeout, DEFAULT_TIMEOUT_SECONDS)),
		stepTimeoutSeconds: typeof stepTimeout === "number" && stepTimeout > 0 ? stepTimeout : null,
		heartbeatSeconds: positive(raw.heartbeatSeconds, DEFAULT_HEARTBEAT_SECONDS),
		outboundAllow: Array.isArray(raw.outboundAllow)
			? raw.outboundAllow.filter((a): a is string => typeof a === "string")
			: [],
		logLimits: {
			maxLineBytes: Math.max(64, positive(limits.maxLineBytes, DEFAULT_LOG_LIMITS.maxLineBytes)),
			maxStepBytes: Math.max(256, positive(limits.maxStepBytes, DEFAULT_LOG_LIMITS.maxStepBytes)),
		},
	};
}
