// The gateway's public URL as this node knows it: its own CDS_PUBLIC_URL, else its own
// gateway's, else the one another API node announces in its `api` service metadata (Moleculer
// propagates service metadata with the registry). The choice itself is pure (src/net/public-url.ts).

import { hostname } from "node:os";
import { Errors, type ServiceBroker } from "moleculer";
import type { Config } from "../../config/index.ts";
import { type Announcement, type ApiUrlChoice, chooseApiUrl, gatewayUrl } from "../../src/net/public-url.ts";

/** What this node's gateway announces (only meaningful on a node that runs `api`). */
export function ownGatewayUrl(config: Config): { url: string; warning?: string } {
	return gatewayUrl({
		publicUrl: config.publicUrl,
		apiHost: config.apiHost,
		apiPort: config.apiPort,
		hostname: hostname(),
		clustered: Boolean(config.natsUrl),
	});
}

/** The `metadata` of the api service: how other nodes learn the gateway's URL. */
export function gatewayMetadata(config: Config): { publicUrl: string } {
	return { publicUrl: ownGatewayUrl(config).url };
}

/** The API URL this node uses, and where it comes from. */
export function apiUrlChoice(broker: ServiceBroker, config: Config): ApiUrlChoice {
	const announced: Announcement[] = [];
	// The local gateway counts before it is registered (services start in any order).
	if (config.services.includes("api"))
		announced.push({ nodeId: broker.nodeID, url: ownGatewayUrl(config).url, local: true });
	const services = broker.registry.getServiceList({ onlyAvailable: true, skipInternal: true }) as Array<{
		name: string;
		nodeID: string;
		local: boolean;
		metadata?: { publicUrl?: unknown };
	}>;
	for (const s of services) {
		if (s.name !== "api" || typeof s.metadata?.publicUrl !== "string") continue;
		announced.push({ nodeId: s.nodeID, url: s.metadata.publicUrl, local: s.local });
	}
	return chooseApiUrl(config.publicUrl, announced);
}

/** The API URL, or undefined while no API node is known (and this node sets no CDS_PUBLIC_URL). */
export function publicUrlOf(broker: ServiceBroker, config: Config): string | undefined {
	return apiUrlChoice(broker, config).url;
}

/** The API URL, or a 503 saying why there is none (for actions that must hand one out). */
export function requirePublicUrl(broker: ServiceBroker, config: Config): string {
	const url = publicUrlOf(broker, config);
	if (url) return url;
	throw new Errors.MoleculerRetryableError(NO_API_URL, 503, "NO_PUBLIC_URL");
}

export const NO_API_URL =
	"no API node announces its public URL in this cluster and CDS_PUBLIC_URL is not set on this node";

/** One line for the log: which URL this node uses and why. */
export function describeChoice(choice: ApiUrlChoice): string {
	switch (choice.source) {
		case "config":
			return `API URL ${choice.url} (CDS_PUBLIC_URL)`;
		case "local":
			return `API URL ${choice.url} (this node's gateway)`;
		case "cluster":
			return `API URL ${choice.url} (announced by node ${choice.nodeId})`;
		default:
			return `${NO_API_URL}: workers are not started and webhook URLs are refused until an API node joins`;
	}
}

/** A run's address for commit statuses; undefined while no API URL is known. */
export function runLink(
	broker: ServiceBroker,
	config: Config,
	project: string,
	workflow: string,
	run: number | string | undefined,
): string | undefined {
	const url = publicUrlOf(broker, config);
	return url ? `${url}/api/v1/projects/${project}/workflows/${workflow}/runs/${run ?? ""}` : undefined;
}
