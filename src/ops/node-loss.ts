// What a caller may do when the node serving its call is gone. Pure rules, used by the
// node-loss middleware (mixins/node-loss.middleware.ts) and the broker's retry policy.

/** What an action declares about replays: an explicit `idempotent`, else its REST method. */
export interface ActionReplayInfo {
	idempotent?: unknown;
	rest?: unknown;
}

const SAFE_METHODS = new Set(["GET", "HEAD"]);

function restMethods(rest: unknown): string[] {
	const specs = Array.isArray(rest) ? rest : rest === undefined || rest === null ? [] : [rest];
	return specs.map((spec) => {
		if (typeof spec === "string") {
			const parts = spec.trim().split(/\s+/);
			return parts.length > 1 ? parts[0].toUpperCase() : "*";
		}
		const method = (spec as { method?: unknown } | null)?.method;
		return typeof method === "string" ? method.toUpperCase() : "*";
	});
}

/**
 * Whether running the action twice is the same as running it once, so a call whose node died
 * may be replayed on another replica. `idempotent: true|false` on the action decides; without
 * it, an action reachable only by GET is a read. Anything else (creating a run, booking a job,
 * an internal action that says nothing) is never replayed: its first attempt may have done it.
 */
export function isIdempotentAction(action: ActionReplayInfo): boolean {
	if (typeof action.idempotent === "boolean") return action.idempotent;
	const methods = restMethods(action.rest);
	return methods.length > 0 && methods.every((m) => SAFE_METHODS.has(m));
}

/**
 * Errors after which the same call may succeed elsewhere: the node died while the call was
 * pending (its pending requests are rejected), or the node that was picked stopped hosting the
 * action. A timeout is not one of them: a slow action would only be run again, slowly.
 */
const NODE_LOSS_ERRORS = new Set([
	"RequestRejectedError",
	"ServiceNotAvailableError",
	"ServiceNotFoundError",
]);

export function isNodeLossError(err: unknown): boolean {
	const name = (err as { name?: unknown } | null)?.name;
	return typeof name === "string" && NODE_LOSS_ERRORS.has(name);
}
