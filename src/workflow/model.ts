/**
 * The one internal model every CDS as-code file normalises to. v1.0 and v2.0 workflow files
 * of the same workflow produce deep-equal `Workflow` values. Optional fields are always
 * present (possibly undefined) so that models compare with deepStrictEqual.
 */

import type { ModelShape } from "../integrations/model-check.ts";
import type { ParsedIntegration, ParsedModel, PluginBinary, PluginManifest } from "../integrations/parse.ts";
import type { SettingsConfig } from "../integrations/settings.ts";

export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
	[key: string]: JsonValue;
}

export const CONDITION_OPERATORS = ["eq", "ne", "lt", "le", "gt", "ge", "regex"] as const;
export type ConditionOperator = (typeof CONDITION_OPERATORS)[number];

export interface ConditionCheck {
	variable: string;
	operator: ConditionOperator;
	value: string;
}

export interface Conditions {
	checks: ConditionCheck[];
	/** A Lua expression, CDS's `script` condition. */
	script: string | undefined;
}

export const NODE_TRIGGERS = ["success", "manual"] as const;
export type NodeTrigger = (typeof NODE_TRIGGERS)[number];

export interface WorkflowNode {
	name: string;
	/** Undefined for a fork: a node that only fans out to its children. */
	pipeline: string | undefined;
	application: string | undefined;
	environment: string | undefined;
	integration: string | undefined;
	/** Parent node names, sorted. */
	dependsOn: string[];
	/** Empty means CDS's default: run when the parents succeed. */
	when: NodeTrigger[];
	conditions: Conditions;
	oneAtATime: boolean;
	payload: JsonValue | undefined;
	parameters: Record<string, string>;
	permissions: Record<string, number>;
	/**
	 * `persistent_workspace:` — a directory (local hatchery) or volume (OpenStack) that survives
	 * between runs of this node on one branch, leased to one job at a time. Present only when
	 * the file declares one, so models without it compare as before.
	 */
	persistentWorkspace?: PersistentWorkspaceSpec;
}

/** A node's persistent workspace as written: a name and a size (bytes; "1GB" when not written). */
export interface PersistentWorkspaceSpec {
	name: string;
	sizeBytes: number;
	/** The size as written (exported back as is); undefined when the default applied. */
	size: string | undefined;
}

export const PERSISTENT_WORKSPACE_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;
export const DEFAULT_PERSISTENT_WORKSPACE_SIZE = 1000 ** 3;

export interface WorkflowHook {
	node: string;
	type: string;
	ref: string | undefined;
	config: Record<string, string>;
}

export interface WorkflowNotification {
	type: string;
	/** Node names the notification applies to (CDS calls them `pipelines`); empty = all. */
	nodes: string[];
	integration: string | undefined;
	settings: JsonObject;
}

export type WorkflowFormatVersion = "v1.0" | "v2.0";

export interface Workflow {
	name: string;
	description: string | undefined;
	/** The canonical format this workflow exports to (v1.0 when it is a single pipeline). */
	version: WorkflowFormatVersion;
	/** Topological order, ties broken by name. */
	nodes: WorkflowNode[];
	hooks: WorkflowHook[];
	notifications: WorkflowNotification[];
	metadata: Record<string, string>;
	retentionPolicy: string | undefined;
	historyLength: number | undefined;
	/** Group name to CDS permission level (4 read, 5 read+execute, 7 read+write+execute). */
	permissions: Record<string, number>;
	/**
	 * v2.0 `integrations:` — the project integrations the workflow uses, with the settings it
	 * gives each (CDS: artifact managers). Present only when the file names some.
	 */
	integrations?: Record<string, WorkflowIntegration>;
}

/** One entry of a workflow's `integrations:`. */
export interface WorkflowIntegration {
	type: string | undefined;
	config: SettingsConfig;
}

export const PARAMETER_TYPES = ["string", "text", "boolean", "number", "list", "password", "key"] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];

export interface PipelineParameter {
	type: ParameterType;
	default: string;
	description: string;
}

export interface Stage {
	name: string;
	enabled: boolean;
	conditions: Conditions;
}

export const REQUIREMENT_TYPES = [
	"binary",
	"model",
	"hostname",
	"memory",
	"os-architecture",
	"service",
	"region",
	"plugin",
] as const;
export type RequirementType = (typeof REQUIREMENT_TYPES)[number];

export interface Requirement {
	type: RequirementType;
	/** The requirement's name: the value itself except for services (`service: {name, value}`). */
	name: string;
	value: string;
}

/** CDS's built-in step actions, as spelt in as-code files. */
export const BUILTIN_ACTIONS = [
	"gitClone",
	"artifactUpload",
	"artifactDownload",
	"jUnitReport",
	"coverage",
	"checkout",
	"staticAnalysis",
	"securityScan",
	"installKey",
	"gitTag",
	"releaseVCS",
	"release",
	"promote",
	"deploy",
	"pushBuildInfo",
	"serve-static-files",
] as const;
export type BuiltinAction = (typeof BUILTIN_ACTIONS)[number];

export type StepAction =
	| { kind: "script"; script: string[] }
	| { kind: "builtin"; name: BuiltinAction; params: JsonValue }
	/** `plugin: {name: X, ...params}` — a CDS action plugin. */
	| { kind: "plugin"; name: string; params: JsonObject }
	/** `action: {name: X, ...params}` — a project- or user-defined CDS action. */
	| { kind: "action"; name: string; params: JsonObject };

export interface Step {
	name: string | undefined;
	enabled: boolean;
	optional: boolean;
	alwaysExecuted: boolean;
	/** Seconds. */
	timeout: number | undefined;
	action: StepAction;
}

export interface Job {
	name: string;
	/** Undefined when the pipeline declares no stages (one implicit stage). */
	stage: string | undefined;
	description: string | undefined;
	enabled: boolean;
	optional: boolean;
	alwaysExecuted: boolean;
	steps: Step[];
	requirements: Requirement[];
	/** CDS-TS addition: how many times a failed job is retried. */
	retry: number;
	/** CDS-TS addition, seconds. */
	timeout: number | undefined;
}

export interface Pipeline {
	name: string;
	description: string | undefined;
	parameters: Record<string, PipelineParameter>;
	stages: Stage[];
	jobs: Job[];
}

export const VARIABLE_TYPES = ["string", "text", "boolean", "number", "password", "key"] as const;
export type VariableType = (typeof VARIABLE_TYPES)[number];

export interface Variable {
	type: VariableType;
	/** For a password: the clear value, or the `enc:v1:` ciphertext when `sealed`. */
	value: string;
	/** True when `value` is still ciphertext (no openSecret callback was given). */
	sealed: boolean;
	/** A password opened from the file: the sealed text read, written back while the value is unchanged. */
	asImported?: string;
}

export const KEY_TYPES = ["ssh", "pgp"] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export interface Application {
	name: string;
	description: string | undefined;
	variables: Record<string, Variable>;
	keys: Record<string, { type: KeyType }>;
	vcsServer: string | undefined;
	repo: string | undefined;
	/** The other `vcs_*` fields keyed as CDS writes them (vcs_branch, vcs_ssh_key, ...), secrets excluded. */
	vcs: Record<string, string>;
	/** `vcs_password`, a secret handled like a password variable. */
	vcsPassword: Variable | undefined;
	/** `deployments:` — integration name → the application's settings for it. Present when given. */
	deployments?: Record<string, SettingsConfig>;
}

export interface Environment {
	name: string;
	description: string | undefined;
	variables: Record<string, Variable>;
	keys: Record<string, { type: KeyType }>;
}

/** Everything a file set defines, each list sorted by name. */
export interface FileSetModel {
	workflows: Workflow[];
	pipelines: Pipeline[];
	applications: Application[];
	environments: Environment[];
	/** Referenced by a node but defined neither in the set nor in the project: created empty on import. */
	missing: { applications: string[]; environments: string[] };
	/** Integration models the set defines (importing them needs a system administrator). */
	integrationModels?: ParsedModel[];
	/** Project integrations the set defines (imported before the workflows that use them). */
	integrations?: ParsedIntegration[];
	/** Action-plugin manifests and binary descriptors: linted here, installed by `cds admin plugin import`. */
	plugins?: PluginManifest[];
	pluginBinaries?: PluginBinary[];
}

/** What the project already holds, for references that leave the file set. */
export interface ProjectContext {
	pipelines?: readonly string[];
	applications?: readonly string[];
	environments?: readonly string[];
	integrations?: readonly string[];
	/** Integration models known to the server (built-in and imported). */
	integrationModels?: readonly string[];
	/**
	 * The imported models' settings, to check a project integration's config against its model
	 * (built-in models are known without it; a model named but not described here is not checked).
	 */
	integrationModelDefs?: readonly ModelShape[];
	plugins?: readonly string[];
}

/** Prefix of sealed secret values; the crypto behind it is the caller's. */
export const SEALED_PREFIX = "enc:v1:";

export type EntityKind = "workflow" | "pipeline" | "application" | "environment";

/** The integration files a set may hold beside its entities. */
export const INTEGRATION_FILE_KINDS = [
	"integration-model",
	"integration",
	"plugin",
	"plugin-binary",
] as const;
export type IntegrationFileKind = (typeof INTEGRATION_FILE_KINDS)[number];
export type FileKind = EntityKind | IntegrationFileKind;
