// Outbound connections the server makes on a project's behalf (repository managers, git remotes,
// template downloads…): which internal addresses they may reach (src/net/outbound-policy.ts).

import { parseOutboundAllow, type OutboundPolicy } from "../src/net/outbound-policy.ts";
import { ConfigError, type Env, list } from "./settings.ts";

export const OUTBOUND_SETTINGS = {
	allow: list(
		"CDS_OUTBOUND_ALLOW",
		"internal addresses (loopback, private, link-local…) the server may still connect to for a project: CIDRs (`10.1.0.0/16`) or `host[:port]`, comma-separated",
		undefined,
		"none",
	),
};

export function readOutboundSettings(env: Env): OutboundPolicy {
	try {
		return { allow: parseOutboundAllow(OUTBOUND_SETTINGS.allow.read(env)) };
	} catch (e) {
		throw new ConfigError(`CDS_OUTBOUND_ALLOW: ${(e as Error).message}`);
	}
}
