// What the worker routes decide about a job, apart from the broker and the store: the
// variables a job sees (and which are secret), which template secrets are opened for it, how
// its logs and step records are identified and masked, which names its blobs may have, and
// what a report upload says about its kind, format and quality gate.

import type { JobDoc, RunDoc } from "../../schemas/run.ts";
import { isSealed } from "../crypto/secret-box.ts";
import { type CompiledSecrets, compileSecrets } from "../run/mask.ts";
import { integrationNamesOfJob, integrationVariables } from "../integrations/job-vars.ts";
import type { ApplicationDeployments, IntegrationConfig, JobIntegration } from "../integrations/model.ts";
import { plainConfig } from "../integrations/settings.ts";
import { nodeOpenstackIntegration, openstackEnvironment } from "../integrations/openstack-env.ts";
import type { Definition } from "./ports.ts";
import { jobVariables } from "./run-vars.ts";

/** Log limits handed to workers with their job. */
export const LOG_LIMITS = { maxLineBytes: 32 * 1024, maxStepBytes: 64 * 1024 * 1024 };
export const TAG_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
export const FILE_PATTERN = /^[A-Za-z0-9._+-][A-Za-z0-9._+ -]{0,254}$/;
export const REPORT_UPLOAD_KINDS = ["tests", "coverage", "analysis", "security"] as const;
const PGP_MESSAGE = "-----BEGIN PGP MESSAGE-----";

function pad(n: number, width: number) {
	return String(n).padStart(width, "0");
}

/**
 * Stored id of one log entry: sortable by step (the setup step -1 first) then sequence, and
 * the same for a resent entry (so a retried upload is a duplicate, not a second line).
 */
export function logEntryId(jobId: string, step: number, seq: number): string {
	return `${jobId}/${pad(step + 1, 5)}/${pad(seq, 10)}`;
}

/** Stored id of one step's status record. */
export function stepRecordId(jobId: string, index: number): string {
	return `${jobId}/${pad(index, 5)}`;
}

const MAX_COMPILED = 64;
const compiledCache = new Map<string, CompiledSecrets>();

/**
 * The compiled forms of a job's secrets: every log batch of a job is masked with the same
 * set, so the automaton is built once per set (a few recent sets are kept).
 */
export function compiledSecretsOf(secrets: readonly string[]): CompiledSecrets {
	const key = secrets.join("\u0000");
	const hit = compiledCache.get(key);
	if (hit) return hit;
	const compiled = compileSecrets(secrets);
	if (compiledCache.size >= MAX_COMPILED) compiledCache.delete(compiledCache.keys().next().value!);
	compiledCache.set(key, compiled);
	return compiled;
}

/** Secrets masked out of a text that arrives whole (no chunk boundary to mind). */
export function maskWhole(text: string, secrets: string[]): string {
	if (secrets.length === 0) return text;
	const masker = compiledSecretsOf(secrets).masker();
	return masker.mask(text) + masker.flush();
}

/**
 * Exported values as the run stores them: a value holding a secret of the job, in any form
 * the masker recognises (so also the base64 of `user:password`), is sealed, and its name
 * listed in `sealed` — later jobs get it opened, and as a secret of theirs to mask.
 */
export function sealExports(
	values: Record<string, string>,
	secrets: readonly string[],
	seal: (plain: string) => string,
): { values: Record<string, string>; sealed: string[] } {
	const compiled = compiledSecretsOf(secrets);
	const out: Record<string, string> = {};
	const sealed: string[] = [];
	for (const [name, value] of Object.entries(values)) {
		if (compiled.test(value)) {
			out[name] = seal(value);
			sealed.push(name);
		} else out[name] = value;
	}
	return { values: out, sealed };
}

/**
 * A run's exported values with the sealed ones opened, and those clear values (secrets of
 * every job that sees them). A value that cannot be opened (another master key) stays sealed.
 */
export function openBuild(
	run: Pick<RunDoc, "build" | "sealedBuild">,
	open: ((sealed: string) => string) | undefined,
): { build: Record<string, string>; secrets: string[] } {
	const build = { ...run.build };
	const secrets: string[] = [];
	for (const name of run.sealedBuild ?? []) {
		const value = build[name];
		if (value === undefined || !isSealed(value) || !open) continue;
		try {
			build[name] = open(value);
			secrets.push(build[name]);
		} catch {
			// Left sealed: the job sees the sealed text, never another value.
		}
	}
	return { build, secrets };
}

/** Why a blob tag or file name is refused, or null: plain names only, never a path. */
export function blobNameProblem(
	tag: string,
	name: string,
): { field: "tag" | "name"; message: string; detail: string } | null {
	if (!TAG_PATTERN.test(tag))
		return { field: "tag", message: `invalid tag '${tag}'`, detail: "letters, digits, . _ - only" };
	if (!FILE_PATTERN.test(name) || name === "." || name === "..")
		return { field: "name", message: `invalid file name '${name}'`, detail: "a plain file name" };
	return null;
}

/** Stored id of a blob reference: one file per scope (run or project), tag and name. */
export function blobRefId(scope: string, tag: string, name: string): string {
	return `${scope}/${tag}/${name}`;
}

/** The clear project, application and environment variables of a job, as the project service gives them. */
export type ClearVariables = Record<
	"project" | "application" | "environment",
	Record<string, { type: string; value: string }>
>;

/** Where a job's node stands in its definition: its application and environment, if any. */
export function nodeOf(def: Definition, job: Pick<JobDoc, "node">) {
	return def.model.nodes.find((n) => n.name === job.node);
}

/** The integrations a workflow names (`integrations:` in v2.0), when its model carries them. */
export function workflowIntegrations(def: Definition): string[] {
	return Object.keys(def.model.integrations ?? {}).sort();
}

/** The settings the workflow itself gives its integrations (they win over the project's). */
function workflowIntegrationSettings(def: Definition): Record<string, IntegrationConfig> {
	const out: Record<string, IntegrationConfig> = {};
	for (const [name, entry] of Object.entries(def.model.integrations ?? {}))
		out[name] = plainConfig(entry.config);
	return out;
}

/** The names of the project integrations a job uses: its node's, then its workflow's. */
export function integrationNamesFor(def: Definition, job: Pick<JobDoc, "node">): string[] {
	return integrationNamesOfJob(nodeOf(def, job)?.integration, workflowIntegrations(def));
}

/** What the project service hands for a job's integrations (passwords opened). */
export interface ClearIntegrations {
	integrations: JobIntegration[];
	/** The `deployments:` of the node's application. */
	deployments?: ApplicationDeployments;
}

/**
 * The variables of a job and the clear values among them that must be masked; `open` opens
 * the exported values stored sealed.
 */
export function variablesOfJob(
	job: JobDoc,
	run: Pick<RunDoc, "vars" | "build" | "sealedBuild">,
	def: Definition,
	clear: ClearVariables,
	publicUrl: string,
	open?: (sealed: string) => string,
	integrations?: ClearIntegrations,
): { vars: Record<string, string>; secrets: string[]; warnings: string[] } {
	const warnings: string[] = [];
	const node = nodeOf(def, job);
	const pipeline = def.pipelines.find((p) => p.name === job.pipeline);
	const build = openBuild(run, open);
	const computed = jobVariables({
		run: run.vars,
		build: build.build,
		project: clear.project,
		application: node?.application ? { name: node.application, variables: clear.application } : undefined,
		environment: node?.environment ? { name: node.environment, variables: clear.environment } : undefined,
		pipelineParameters: Object.fromEntries(
			Object.entries(pipeline?.parameters ?? {}).map(([k, p]) => [k, p.default]),
		),
		nodeParameters: node?.parameters ?? {},
		node: job.node,
		pipeline: job.pipeline,
		stage: job.stage,
		job: job.name,
		publicUrl,
		runUrl: `${publicUrl}/api/v1/projects/${job.project}/workflows/${job.workflow}/runs/${job.runNumber}`,
	});
	const platform = integrations?.integrations.length
		? integrationVariables({
				integrations: integrations.integrations,
				node: node?.integration,
				workflow: workflowIntegrations(def),
				workflowSettings: workflowIntegrationSettings(def),
				deployments: integrations.deployments,
				vars: computed.vars,
			})
		: { vars: {}, secrets: [] };
	// Deploy on environment with an Openstack integration: the `openstack` CLI's environment too.
	const openstack = integrations
		? nodeOpenstackIntegration(integrations.integrations, node?.integration)
		: undefined;
	if (openstack) {
		const settings: IntegrationConfig = {};
		for (const key of Object.keys(openstack.config))
			settings[key] = { type: "string", value: platform.vars[`cds.integration.${key}`] ?? "" };
		const os = openstackEnvironment(settings);
		Object.assign(platform.vars, os.env);
		if (os.warning) warnings.push(`integration ${openstack.name}: ${os.warning}`);
	}
	if (build.secrets.length === 0 && platform.secrets.length === 0)
		return { vars: { ...computed.vars, ...platform.vars }, secrets: computed.secrets, warnings };
	const secrets = new Set([
		...computed.secrets,
		...platform.secrets,
		...build.secrets.filter((s) => s.length > 0),
	]);
	return { vars: { ...computed.vars, ...platform.vars }, secrets: [...secrets], warnings };
}

/**
 * Template secrets arrive in as-code files as OpenPGP messages encrypted to the project key:
 * only for the job that needs them are they opened — and masked like any password. A message
 * `open` cannot read (another project's key, no template service) is left as written.
 */
export async function openTemplateSecrets(
	computed: { vars: Record<string, string>; secrets: string[] },
	open: (armored: string) => Promise<string>,
): Promise<{ vars: Record<string, string>; secrets: string[] }> {
	const armored = Object.entries(computed.vars).filter(([, v]) => v.trimStart().startsWith(PGP_MESSAGE));
	if (armored.length === 0) return computed;
	const vars = { ...computed.vars };
	const secrets = new Set(computed.secrets);
	for (const [name, value] of armored) {
		try {
			const clear = await open(value.trim());
			vars[name] = clear;
			secrets.add(clear);
		} catch {
			// Not ours to open: left as written.
		}
	}
	return { vars, secrets: [...secrets].filter((x) => x.length > 0) };
}

/** Whether a report upload's tag names a report kind. */
export function isReportUploadKind(kind: string): kind is (typeof REPORT_UPLOAD_KINDS)[number] {
	return (REPORT_UPLOAD_KINDS as readonly string[]).includes(kind);
}

/**
 * What a report upload tells the report service beyond the file: the uploading step's own
 * parameters (they carry its quality gate: coverage minimum, maxDrop, failOn…), the format
 * (the step's, else the query's) and the node's application (its vulnerability ignores).
 */
export function reportUploadContext(
	job: Pick<JobDoc, "node" | "job">,
	def: Definition,
	query: Record<string, unknown>,
): { stepParams?: unknown; format?: string; application?: string } {
	const stepIndex = Number(query.step);
	const step = Number.isInteger(stepIndex) ? job.job.steps[stepIndex] : undefined;
	const stepParams = step && step.action.kind === "builtin" ? step.action.params : undefined;
	const application = nodeOf(def, job)?.application;
	const stepFormat =
		stepParams && typeof stepParams === "object" && !Array.isArray(stepParams)
			? (stepParams as Record<string, unknown>).format
			: undefined;
	const format =
		typeof stepFormat === "string" ? stepFormat : typeof query.format === "string" ? query.format : undefined;
	return {
		...(format !== undefined ? { format } : {}),
		...(stepParams !== undefined ? { stepParams } : {}),
		...(application ? { application } : {}),
	};
}

/**
 * What a worker gets for its job: where it stands, its variables and the secrets it must mask,
 * its time limits (no per-step limit: a step ends with the job) and its log limits.
 */
export function jobAnswer(
	job: JobDoc,
	variables: Record<string, string>,
	secrets: string[],
	heartbeatSeconds: number,
) {
	return {
		id: job._id,
		attempt: job.attempt,
		runId: job.runId,
		runNumber: job.runNumber,
		project: job.project,
		workflow: job.workflow,
		node: job.node,
		pipeline: job.pipeline,
		stage: job.stage,
		job: job.job,
		variables,
		secrets,
		timeoutSeconds: job.timeoutSeconds,
		stepTimeoutSeconds: null,
		heartbeatSeconds,
		logLimits: LOG_LIMITS,
	};
}

/** An armored message inside a string: with real line breaks, or with `\n` escapes as `quote` writes them. */
const ARMORED_IN_TEXT = /-----BEGIN PGP MESSAGE-----(?:\\n|\r?\n)[\s\S]*?-----END PGP MESSAGE-----/g;

/**
 * Template secrets rendered straight into a job's steps (a script line, an action's parameter)
 * rather than into a variable: each armored message found in the steps' strings is opened and
 * put in its place, and its clear value is masked like any password. A message `open` cannot
 * read is left as written.
 */
export async function openStepSecrets<T>(
	steps: T,
	open: (armored: string) => Promise<string>,
): Promise<{ steps: T; secrets: string[] }> {
	const text = JSON.stringify(steps);
	if (!text.includes(PGP_MESSAGE)) return { steps, secrets: [] };
	const opened = new Map<string, string | null>();
	const secrets: string[] = [];
	const openOnce = async (found: string) => {
		if (opened.has(found)) return;
		// Lines of a message rendered into indented YAML keep their indentation: armor has none.
		const armored = found
			.replace(/\\n/g, "\n")
			.split(/\r?\n/)
			.map((l) => l.trim())
			.join("\n");
		try {
			const clear = await open(armored);
			opened.set(found, clear);
			if (clear.length > 0) secrets.push(clear);
		} catch {
			opened.set(found, null);
		}
	};
	const visit = async (value: unknown): Promise<unknown> => {
		if (typeof value === "string") {
			const found = value.match(ARMORED_IN_TEXT);
			if (!found) return value;
			for (const f of found) await openOnce(f);
			return value.replace(ARMORED_IN_TEXT, (f) => opened.get(f) ?? f);
		}
		if (Array.isArray(value)) return Promise.all(value.map(visit));
		if (value && typeof value === "object") {
			const out: Record<string, unknown> = {};
			for (const [k, v] of Object.entries(value)) out[k] = await visit(v);
			return out;
		}
		return value;
	};
	return { steps: (await visit(steps)) as T, secrets };
}
