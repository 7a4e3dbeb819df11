// The project service's stored documents and the answers other services get from it.

import type { StoredConfig, StoredModel } from "../src/integrations/stored.ts";
import type { VariableType } from "../src/project/variables.ts";
import type { Doc } from "../src/store/types.ts";

export interface ProjectDoc extends Doc {
	key: string;
	name: string;
	description: string;
	/** The project's own key (exports seal passwords with it), sealed with the master key. */
	sealedKey: string;
	created: string;
	updated: string;
}

export interface VariableDoc extends Doc {
	project: string;
	/** "project", "application:<name>" or "environment:<name>" */
	owner: string;
	name: string;
	type: VariableType;
	value: string;
	/** A password imported from a file: the project-sealed text read, for a byte-stable export. */
	exported?: string;
	updated: string;
}

export type EntityKind = "application" | "environment" | "pipeline";

export interface EntityDoc extends Doc {
	project: string;
	kind: EntityKind;
	name: string;
	description: string;
	/** Applications: the linked repository. */
	repository?: { vcsServer: string; repo: string; cloneUrl?: string } | null;
	/** Pipelines: the normalised pipeline model; applications/environments: keys etc. */
	model?: unknown;
	/** Set for pipelines embedded in an as-code workflow (they belong to it alone). */
	workflow?: string | null;
	/** Applications: `deployments:`, integration name → settings (passwords sealed). */
	deployments?: Record<string, StoredConfig>;
	created: string;
	updated: string;
}

/** An entity with its own variables, as `project.context` gives it. */
export type ContextEntity = EntityDoc & { variables: VariableDoc[] };

/** `project.context`: the names a file set may refer to, and the project's entities. */
export interface ProjectContext {
	pipelines: string[];
	applications: string[];
	environments: string[];
	integrations: string[];
	/** Integration models the server knows: built-in and imported. */
	integrationModels: string[];
	entities: ContextEntity[];
	/** The project's integrations as stored (passwords sealed with the master key), for an exporter. */
	integrationDocs: ProjectIntegrationDoc[];
	/** The imported (non built-in) models, for an exporter. */
	modelDocs: IntegrationModelDoc[];
}

/** A user-defined integration model (global: a system administrator imports it). */
export interface IntegrationModelDoc extends Doc {
	name: string;
	model: StoredModel;
	created: string;
	updated: string;
}

/** One configured integration of a project. */
export interface ProjectIntegrationDoc extends Doc {
	project: string;
	name: string;
	model: string;
	config: StoredConfig;
	created: string;
	updated: string;
}

/** `project.secretMaterial`: the project's own key (base64), which seals exported passwords. */
export interface SecretMaterial {
	projectKey: string;
}

/** A variable as a job sees it: passwords opened. */
export interface ClearVariable {
	type: string;
	value: string;
}

/** `project.jobVariables`: the variables of the project, and of the node's application and environment. */
export type JobVariables = Record<"project" | "application" | "environment", Record<string, ClearVariable>>;

/** `project.upsertEntities`. */
export interface UpsertEntitiesResult {
	count: number;
}
