// What the store refuses leaves the node typed, never as a 500:
// - a store server that cannot be reached (restarting, a network cut) makes the actions that
//   need it fail with a retryable 503 `STORE_UNAVAILABLE`: the gateway answers 503 with
//   Retry-After, workers and the CLI retry;
// - a document outside the store subset (src/store/subset.ts) that got past an action's
//   parameter rules is refused as a 422 naming where, and nothing is stored. Actions convert or
//   refuse user-shaped data first; this is the net under them.

import { type Context, Errors, type Middleware } from "moleculer";
import { StoreShapeError } from "../src/store/subset.ts";
import { isStoreUnavailable } from "../src/store/unavailable.ts";

export function StoreErrorsMiddleware(): Middleware {
	return {
		name: "StoreErrors",
		localAction(handler: (ctx: Context) => Promise<unknown>) {
			return function storeErrors(ctx: Context) {
				return handler(ctx).catch((err: unknown) => {
					if (err instanceof StoreShapeError)
						throw new Errors.MoleculerClientError(
							`this value cannot be stored: ${err.message}`,
							422,
							"VALIDATION_ERROR",
							{ errors: [{ field: err.path, message: err.message }] },
						);
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
