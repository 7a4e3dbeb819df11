// Who may scrape the gateway's /metrics (docs/metrics.md): a system administrator token, or the
// dedicated scrape token set here — a token that opens nothing but the metrics.

import { type Env, secret } from "./settings.ts";

const [token, tokenFile] = secret(
	"CDS_METRICS_TOKEN",
	"a bearer token for scraping `/metrics` at the gateway (≥ 20 characters), which opens nothing else; without it only system administrator tokens may scrape; removed from the node's environment at start",
	{ pattern: /^\S{20,512}$/, expected: "20 to 512 characters, no spaces" },
	"none: admin tokens only",
);

export const METRICS_SETTINGS = { token, tokenFile };

export interface MetricsSettings {
	/** The dedicated scrape token, when one is configured. */
	token?: string;
}

export function readMetricsSettings(env: Env): MetricsSettings {
	const value = METRICS_SETTINGS.token.read(env);
	return value === undefined ? {} : { token: value };
}
