// The URL workers, webhooks, links and the CLI use to reach the REST gateway. An API node
// announces its own (CDS_PUBLIC_URL, else derived from where it listens) to the cluster; every
// other node uses what is announced unless it sets CDS_PUBLIC_URL itself. Pure: the services
// read the announcements from the Moleculer registry (services/support/public-url.ts).

export interface GatewayAddress {
	/** CDS_PUBLIC_URL, when set. */
	publicUrl?: string;
	/** CDS_API_HOST: where the gateway listens. */
	apiHost: string;
	apiPort: number;
	/** This machine's name (os.hostname()). */
	hostname: string;
	/** Whether the node is part of a cluster (NATS_URL): other hosts then need to reach it. */
	clustered: boolean;
}

const ALL_ADDRESSES = new Set(["", "0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0"]);

function hostPart(host: string): string {
	return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/**
 * What an API node announces. A single node listening on every address uses localhost (its
 * workers are local); a clustered one uses its host name, with a warning, since other hosts and
 * outside callers (webhooks) may know it under another name.
 */
export function gatewayUrl(a: GatewayAddress): { url: string; warning?: string } {
	if (a.publicUrl) return { url: a.publicUrl.replace(/\/+$/, "") };
	const host = a.apiHost.trim();
	if (!ALL_ADDRESSES.has(host)) return { url: `http://${hostPart(host)}:${a.apiPort}` };
	if (!a.clustered) return { url: `http://localhost:${a.apiPort}` };
	const url = `http://${hostPart(a.hostname)}:${a.apiPort}`;
	return {
		url,
		warning: `CDS_PUBLIC_URL is not set and the gateway listens on all addresses: this node announces ${url} to the cluster for workers and webhooks; set CDS_PUBLIC_URL to the address they should use`,
	};
}

/** An API node's announcement, as the registry shows it. */
export interface Announcement {
	nodeId: string;
	url: string;
	/** The API runs on this very node. */
	local: boolean;
}

export interface ApiUrlChoice {
	url?: string;
	/** Where it comes from: this node's CDS_PUBLIC_URL, its own gateway, another node's, or none yet. */
	source: "config" | "local" | "cluster" | "none";
	nodeId?: string;
}

/**
 * The URL this node gives workers and puts in webhook URLs and links: its own CDS_PUBLIC_URL,
 * else the announcement of its own gateway, else that of another API node (the same one on
 * every node: the first by node id), else none — a URL where no gateway listens is worse than
 * waiting for one.
 */
export function chooseApiUrl(own: string | undefined, announced: readonly Announcement[]): ApiUrlChoice {
	if (own) return { url: own.replace(/\/+$/, ""), source: "config" };
	const valid = announced.filter((a) => /^https?:\/\/[^/]/.test(a.url));
	const local = valid.find((a) => a.local);
	if (local) return { url: local.url, source: "local", nodeId: local.nodeId };
	const first = [...valid].sort((x, y) => x.nodeId.localeCompare(y.nodeId))[0];
	if (first) return { url: first.url, source: "cluster", nodeId: first.nodeId };
	return { source: "none" };
}
