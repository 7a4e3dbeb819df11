// The shared contract of CDS's platform model (issue #13): what an integration model declares,
// what a project integration configures, and what a job is handed. Pure types and constants —
// the parsers (parse-*.ts), the store side (services/project.service.ts) and the runtime
// (job-*.ts, deploy*.ts, plugin*.ts) all speak these shapes.

/** CDS's setting types; a `password` is sealed at rest and masked wherever it is shown. */
export const INTEGRATION_SETTING_TYPES = ["string", "text", "password", "boolean", "number"] as const;
export type IntegrationSettingType = (typeof INTEGRATION_SETTING_TYPES)[number];

/** One typed setting. Values are always strings, as in CDS (`10` in YAML is read as "10"). */
export interface IntegrationSetting {
	type: IntegrationSettingType;
	value: string;
	description?: string;
}

/** Settings keyed by name (`api_url`, `token`, `retry.max`, …). */
export type IntegrationConfig = Record<string, IntegrationSetting>;

/** The capability flags of a model, in CDS's order. */
export const INTEGRATION_FLAGS = [
	"storage",
	"deployment",
	"compute",
	"hook",
	"event",
	"artifactManager",
] as const;
export type IntegrationFlag = (typeof INTEGRATION_FLAGS)[number];

/**
 * What a platform offers and which settings it takes. `defaultConfig` is what every project
 * integration of the model fills; `additionalDefaultConfig` is what each application's
 * `deployments:` entry for it fills; `publicConfigurations` are ready-made integrations a
 * public model gives every project.
 */
export interface IntegrationModel {
	name: string;
	author?: string;
	identifier?: string;
	icon?: string;
	defaultConfig: IntegrationConfig;
	additionalDefaultConfig?: IntegrationConfig;
	publicConfigurations?: Record<string, IntegrationConfig>;
	storage: boolean;
	deployment: boolean;
	compute: boolean;
	hook: boolean;
	event: boolean;
	artifactManager: boolean;
	public: boolean;
}

/**
 * One configured instance of a model in a project. At rest the `password` values are sealed
 * with the project key; an API answer shows them as MASK; "opened" (clear) values are only
 * ever handed to a job.
 */
export interface ProjectIntegration {
	name: string;
	/** The model's name. */
	model: string;
	config: IntegrationConfig;
}

/** How an application deploys on each integration: integration name → settings. */
export type ApplicationDeployments = Record<string, IntegrationConfig>;

/** One entry of `project.integrationsForJob`'s answer: passwords opened, the model attached. */
export type JobIntegration = ProjectIntegration & { modelDef: IntegrationModel };

/** Params and answer of the internal broker action `project.integrationsForJob` (never routed). */
export interface IntegrationsForJobParams {
	projectKey: string;
	names: string[];
}
export interface IntegrationsForJobAnswer {
	integrations: JobIntegration[];
}
