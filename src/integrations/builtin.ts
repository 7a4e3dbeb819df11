// The integration models CDS-TS ships: the platforms it implements. Setting names follow
// CDS's own models where CDS has one (Kubernetes, Openstack, Kafka, RabbitMQ); Marathon, Swift
// and the deploy webhook are CDS-TS's. Built-ins are code, not stored, so every server has
// the same ones; a system administrator may import a model of the same name (CDS's own
// kubernetes.yml, say), which then wins until it is deleted.

import type { IntegrationConfig, IntegrationModel } from "./model.ts";

const s = (description?: string, value = "") =>
	({ type: "string", value, ...(description ? { description } : {}) }) as const;
const secret = (description?: string) =>
	({ type: "password", value: "", ...(description ? { description } : {}) }) as const;

const flags = {
	storage: false,
	deployment: false,
	compute: false,
	hook: false,
	event: false,
	artifactManager: false,
	public: false,
};

const openstackConfig: IntegrationConfig = {
	address: s("Keystone URL, e.g. https://auth.cloud.ovh.net/v3/"),
	region: s(),
	domain: s(),
	tenant_name: s(),
	username: s(),
	password: secret(),
};

export const BUILTIN_MODELS: readonly IntegrationModel[] = [
	{
		...flags,
		name: "Kubernetes",
		author: "CDS-TS",
		identifier: "github.com/ovh/cds/integration/builtin/kubernetes",
		defaultConfig: {
			api_url: s(),
			ca_certificate: { type: "text", value: "", description: "Certificate Authority bundle (PEM format)" },
			token: secret(),
		},
		additionalDefaultConfig: {
			namespace: s("Kubernetes namespace in which you want to deploy your components (OPTIONAL)", "default"),
			deployment_files: s("Glob to yaml filepaths"),
			helm_chart: s(
				"Keep empty if you don't use helm; a chart's path in the workspace or its http(s) URL (.tgz)",
			),
			helm_values: s("Helm values in a YAML file or a URL"),
			release_name: s("Helm release name, when it is not the application's name"),
			timeout: s("timeout in seconds or a duration (ex: 3m)", "180"),
		},
		deployment: true,
		compute: true,
	},
	{
		...flags,
		name: "Openstack",
		author: "CDS-TS",
		identifier: "github.com/ovh/cds/integration/builtin/openstack",
		defaultConfig: {
			...openstackConfig,
			storage_container_prefix: s(),
			storage_temporary_url_supported: s(),
		},
		storage: true,
		compute: true,
	},
	{
		...flags,
		name: "Swift",
		author: "CDS-TS",
		identifier: "github.com/ovh/cds-ts/integration/builtin/swift",
		defaultConfig: {
			...openstackConfig,
			container_prefix: s("prefix of the containers artifacts are stored in", "cds-"),
			temporary_url_supported: { type: "boolean", value: "false" },
		},
		storage: true,
	},
	{
		...flags,
		name: "Marathon",
		author: "CDS-TS",
		identifier: "github.com/ovh/cds-ts/integration/builtin/marathon",
		defaultConfig: {
			url: s("Marathon API URL"),
			username: s(),
			password: secret(),
		},
		additionalDefaultConfig: {
			app_id: s("Marathon application id, when it is not the application's name"),
			instances: { type: "number", value: "1" },
			deployment_file: s("path of the application's Marathon JSON definition"),
			timeout: { type: "number", value: "300", description: "seconds to wait for the deployment" },
		},
		deployment: true,
		compute: true,
		// Its event stream feeds `Marathon hook`s (src/hooks/sources/marathon.ts).
		hook: true,
	},
	{
		...flags,
		name: "Kafka",
		author: "CDS-TS",
		identifier: "github.com/ovh/cds/integration/builtin/kafka",
		defaultConfig: {
			"broker url": s(),
			username: s(),
			password: secret(),
			topic: s("This is mandatory only if you want to use Event Integration"),
		},
		hook: true,
		event: true,
	},
	{
		...flags,
		name: "RabbitMQ",
		author: "CDS-TS",
		identifier: "github.com/ovh/cds/integration/builtin/rabbitmq",
		defaultConfig: { uri: s(), username: s(), password: secret() },
		hook: true,
	},
	{
		...flags,
		name: "DeployWebhook",
		author: "CDS-TS",
		identifier: "github.com/ovh/cds-ts/integration/builtin/deploy-webhook",
		defaultConfig: {
			url: s("URL the deployment request is POSTed to"),
			token: secret("sent as 'Authorization: Bearer <token>'"),
		},
		additionalDefaultConfig: {
			payload: { type: "text", value: "", description: "JSON body sent (variables interpolated)" },
			timeout: { type: "number", value: "60", description: "seconds to wait for the answer" },
		},
		deployment: true,
	},
];

export const BUILTIN_MODEL_NAMES: readonly string[] = BUILTIN_MODELS.map((m) => m.name);

export function builtinModel(name: string): IntegrationModel | undefined {
	return BUILTIN_MODELS.find((m) => m.name === name);
}
