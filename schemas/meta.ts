// What the gateway puts in (and reads from) a call's meta.

import type { Principal } from "../src/auth/access.ts";

export interface GatewayMeta {
	/** The principal behind the request's token; absent on calls from inside the cluster. */
	user?: Principal;
	/** HTTP status of a successful response (moleculer-web reads it). */
	$statusCode?: number;
}
