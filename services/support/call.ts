// A typed `call`: the action's parameters and answer come from schemas/actions.ts.

import type { CallingOptions, Context, ServiceBroker } from "moleculer";
import type { ActionName, ActionParams, ActionResult } from "../../schemas/actions.ts";

export function callAction<A extends ActionName>(
	caller: Context | ServiceBroker,
	action: A,
	params: ActionParams<A>,
	opts?: CallingOptions,
): Promise<ActionResult<A>> {
	return (caller as Context).call<ActionResult<A>, ActionParams<A>>(action, params, opts);
}
