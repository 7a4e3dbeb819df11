// Credentials on NATS. Whoever can publish on the cluster's NATS is a node of the cluster: it
// can call internal actions such as `auth.issueJobToken` or `project.secretMaterial`. So a NATS
// shared with anything else must require authentication, and every node presents credentials:
// from the URL's userinfo (`nats://user:password@host:4222`, `nats://token@host:4222`) or from
// NATS_USER / NATS_PASSWORD(_FILE). The URL kept in the configuration has no credentials, so
// it can be logged.

import { ConfigError } from "./settings.ts";

export type NatsCredentials = { user: string; pass: string } | { token: string };

/** Where a NATS connection goes and how it authenticates. */
export interface NatsEndpoint {
	/** Without userinfo: safe to print. */
	url: string;
	credentials?: NatsCredentials;
}

/**
 * Splits `url` (from the variable `name`) into an address without credentials and the
 * credentials: its own userinfo, else `fallback` (NATS_USER / NATS_PASSWORD).
 */
export function natsEndpoint(name: string, url: string, fallback?: NatsCredentials): NatsEndpoint {
	const parsed = new URL(url);
	let credentials = fallback;
	if (parsed.username !== "" || parsed.password !== "") {
		let user: string;
		let pass: string;
		try {
			user = decodeURIComponent(parsed.username);
			pass = decodeURIComponent(parsed.password);
		} catch {
			throw new ConfigError(`${name}: the credentials in the URL are not valid percent-encoding`);
		}
		if (user === "") throw new ConfigError(`${name}: the URL has a password but no user`);
		credentials = pass === "" ? { token: user } : { user, pass };
		parsed.username = "";
		parsed.password = "";
	}
	return { url: parsed.toString(), credentials };
}

/** NATS_USER and NATS_PASSWORD: both or neither. */
export function userPassword(
	user: string | undefined,
	pass: string | undefined,
): NatsCredentials | undefined {
	if (user === undefined && pass === undefined) return undefined;
	if (user === undefined || pass === undefined)
		throw new ConfigError("NATS_USER and NATS_PASSWORD (or NATS_PASSWORD_FILE) go together: set both");
	return { user, pass };
}
