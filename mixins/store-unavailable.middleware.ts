// A store server that cannot be reached (restarting, a network cut) makes the actions that
// need it fail with a retryable 503 `STORE_UNAVAILABLE`, on the node where it happens: the
// error crosses the transport typed, the gateway answers 503 with Retry-After, workers and the
// CLI retry — never a 500 for a store restart.

import { type Context, Errors, type Middleware } from "moleculer";
import { isStoreUnavailable } from "../src/store/unavailable.ts";

export function StoreUnavailableMiddleware(): Middleware {
	return {
		name: "StoreUnavailable",
		localAction(handler: (ctx: Context) => Promise<unknown>) {
			return function storeReachable(ctx: Context) {
				return handler(ctx).catch((err: unknown) => {
					if (!isStoreUnavailable(err)) throw err;
					throw new Errors.MoleculerRetryableError(
						"the store is not reachable: retry shortly",
						503,
						"STORE_UNAVAILABLE",
					);
				});
			};
		},
	} as Middleware;
}
