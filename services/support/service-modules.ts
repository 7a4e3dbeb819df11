// Where each service's module is: one table for the node that starts services (server.ts) and
// for the gateway's catalogue of routes (route-catalog.ts). Loaded on demand: a node imports
// only the services it runs.

import type { ServiceSchema } from "moleculer";
import type { Config, ServiceName } from "../../config/index.ts";

export type ServiceFactory = (config: Config) => ServiceSchema<any, any, any, any>;
type Loader = () => Promise<{ default: ServiceFactory }>;

/** The services SERVICES names (`hostedServices` expands `hook`). */
export const SERVICE_MODULES: Record<ServiceName, Loader> = {
	api: () => import("../api.service.ts"),
	auth: () => import("../auth.service.ts"),
	project: () => import("../project.service.ts"),
	workflow: () => import("../workflow.service.ts"),
	run: () => import("../run.service.ts"),
	hatchery: () => import("../hatchery.service.ts"),
	template: () => import("../template.service.ts"),
	report: () => import("../report.service.ts"),
	hook: () => import("../hook.service.ts"),
	"hook-webhook": () => import("../hook-webhook.service.ts"),
	"hook-poller": () => import("../hook-poller.service.ts"),
	"hook-scheduler": () => import("../hook-scheduler.service.ts"),
	"hook-healthcheck": () => import("../hook-healthcheck.service.ts"),
	"hook-snmp": () => import("../hook-snmp.service.ts"),
	"hook-marathon": () => import("../hook-marathon.service.ts"),
	"hook-kafka": () => import("../hook-kafka.service.ts"),
	"hook-rabbitmq": () => import("../hook-rabbitmq.service.ts"),
	"hook-openstack": () => import("../hook-openstack.service.ts"),
	repository: () => import("../repository.service.ts"),
};

/** Services hosted wherever another is: the worker API and plugins live with `run`. */
export const COMPANION_MODULES: Partial<Record<ServiceName, Record<string, Loader>>> = {
	run: {
		worker: () => import("../worker-api.service.ts"),
		plugin: () => import("../plugin.service.ts"),
	},
};

/** The services behind the gateway's `/api/v1` route (its whitelist). */
export const ROUTED_SERVICE_NAMES = [
	"auth",
	"project",
	"workflow",
	"run",
	"worker",
	"plugin",
	"hook",
	"repository",
	"template",
	"report",
] as const;

/** The module of a routed service, a companion or not. */
export function routedModule(name: (typeof ROUTED_SERVICE_NAMES)[number]): Loader {
	const own = (SERVICE_MODULES as Record<string, Loader>)[name];
	if (own) return own;
	for (const companions of Object.values(COMPANION_MODULES)) {
		const loader = companions?.[name];
		if (loader) return loader;
	}
	throw new Error(`no module for the routed service ${name}`);
}
