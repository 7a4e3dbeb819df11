// Every REST route of the services the gateway serves, read from their schemas without
// running them: a gateway that starts while the run node is down, or whose auto-aliases
// dropped a dead node's routes, still knows `/worker/job/result` is a route (503, retry),
// not a typo (404). Loaded once, in the background, the first time the gateway needs it.

import type { ServiceSchema } from "moleculer";
import type { Config } from "../../config/index.ts";
import { type RestRoute, type RoutedSchema, restRoutes } from "../../src/api/route-table.ts";

type Factory = (config: Config) => ServiceSchema<any, any, any, any>;

/** The services behind the gateway's `/api/v1` route (its whitelist), by module. */
const ROUTED_MODULES: Record<string, () => Promise<{ default: Factory }>> = {
	auth: () => import("../auth.service.ts"),
	project: () => import("../project.service.ts"),
	workflow: () => import("../workflow.service.ts"),
	run: () => import("../run.service.ts"),
	worker: () => import("../worker-api.service.ts"),
	plugin: () => import("../plugin.service.ts"),
	hook: () => import("../hook.service.ts"),
	repository: () => import("../repository.service.ts"),
	template: () => import("../template.service.ts"),
	report: () => import("../report.service.ts"),
};

export const ROUTED_SERVICE_NAMES = Object.keys(ROUTED_MODULES);

/** The routes of every routed service under `prefix`; building a schema has no side effect. */
export async function knownRestRoutes(config: Config, prefix: string): Promise<RestRoute[]> {
	const schemas: RoutedSchema[] = [];
	for (const load of Object.values(ROUTED_MODULES)) {
		const { default: factory } = await load();
		schemas.push(factory(config) as RoutedSchema);
	}
	return restRoutes(schemas, prefix);
}
