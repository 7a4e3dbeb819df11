// Every REST route of the services the gateway serves, read from their schemas without
// running them: a gateway that starts while the run node is down, or whose auto-aliases
// dropped a dead node's routes, still knows `/worker/job/result` is a route (503, retry),
// not a typo (404). Loaded once, in the background, the first time the gateway needs it.

import type { Config } from "../../config/index.ts";
import { type RestRoute, type RoutedSchema, restRoutes } from "../../src/api/route-table.ts";
import { ROUTED_SERVICE_NAMES, routedModule } from "./service-modules.ts";

/** The routes of every routed service under `prefix`; building a schema has no side effect. */
export async function knownRestRoutes(config: Config, prefix: string): Promise<RestRoute[]> {
	const schemas: RoutedSchema[] = [];
	for (const name of ROUTED_SERVICE_NAMES) {
		const { default: factory } = await routedModule(name)();
		schemas.push(factory(config) as RoutedSchema);
	}
	return restRoutes(schemas, prefix);
}
