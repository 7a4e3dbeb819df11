// The deployment plugins built into CDS-TS, by the integration models they serve. The
// Kubernetes and Marathon plugins are added here by their own issues; an installed plugin for
// the same model takes precedence (deploy-plugin.ts).

import type { BuiltinDeploymentPlugin } from "./deploy-plugin.ts";
import { KUBERNETES_MODEL } from "./deploy-kubernetes.ts";
import { MARATHON_MODEL } from "./deploy-marathon.ts";
import { DEPLOY_WEBHOOK_MODEL } from "./deploy-webhook.ts";

export const BUILTIN_DEPLOYMENT_PLUGINS: readonly BuiltinDeploymentPlugin[] = [
	{ name: "deploy-webhook", models: [DEPLOY_WEBHOOK_MODEL], entry: "bin/cds-deploy-webhook.ts" },
	{ name: "deploy-kubernetes", models: [KUBERNETES_MODEL], entry: "bin/cds-deploy-kubernetes.ts" },
	{ name: "deploy-marathon", models: [MARATHON_MODEL], entry: "bin/cds-deploy-marathon.ts" },
];
