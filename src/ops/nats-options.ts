// Connection options for the `nats` client (Moleculer's transporter and the hooks' JetStream
// publisher). Credentials travel as an authenticator function, never in a URL or a plain
// option: the broker's options are readable through `$node.options` and JSON drops functions,
// and nothing logs a function's closure.

import type { Authenticator } from "nats";
import type { NatsCredentials } from "../../config/index.ts";

export interface NatsClientOptions {
	servers: string[];
	authenticator?: Authenticator;
}

export function natsClientOptions(url: string, credentials?: NatsCredentials): NatsClientOptions {
	const options: NatsClientOptions = { servers: [url] };
	if (credentials) {
		const auth = "token" in credentials ? { auth_token: credentials.token } : { ...credentials };
		options.authenticator = () => auth;
	}
	return options;
}
