// Template repositories: where the server may fetch templates from.

import { parseAllowedPrefixes } from "../src/templates/url-policy.ts";
import { ConfigError, type Env, list } from "./settings.ts";

export const TEMPLATE_SETTINGS = {
	allowedUrls: list(
		"CDS_TEMPLATE_ALLOWED_URLS",
		"URL prefixes the server may fetch templates from (https, http, file), comma-separated",
		undefined,
		"none",
	),
};

export interface TemplateSettings {
	/** Parsed prefixes; empty: no remote template repository is allowed. */
	allowedPrefixes: URL[];
}

export function readTemplateSettings(env: Env): TemplateSettings {
	const items = TEMPLATE_SETTINGS.allowedUrls.read(env);
	try {
		return { allowedPrefixes: parseAllowedPrefixes(items?.join(",")) };
	} catch (e) {
		throw new ConfigError(`CDS_TEMPLATE_ALLOWED_URLS: ${(e as Error).message}`);
	}
}
