// "Deploy on environment" with an OpenStack integration: a node that names an integration of
// the `Openstack` model (its `integration:`, next to its `environment:`) gives its steps, besides
// `cds.integration.*`, the environment the `openstack` CLI (python-openstackclient) and the
// OpenStack SDKs read, so users deploy with their own tools. Only Keystone v3 exists in current
// OpenStack: an `address` written for v2.0 (CDS's example, `https://auth.cloud.ovh.net/v2.0/`)
// is used as v3 at the same host, with a warning naming the fix.

import type { IntegrationConfig, JobIntegration } from "./model.ts";

export const OPENSTACK_MODEL = "Openstack";

/** The Keystone v3 URL of an `address`, and a warning when it had to be changed. */
export function keystoneV3Url(address: string): { url: string; warning?: string } {
	const trimmed = address.trim();
	let parsed: URL;
	try {
		parsed = new URL(trimmed);
	} catch {
		return { url: trimmed };
	}
	const path = parsed.pathname.replace(/\/+$/, "");
	if (/\/v2(\.0)?$/.test(path)) {
		parsed.pathname = `${path.replace(/\/v2(\.0)?$/, "")}/v3`;
		const url = parsed.toString();
		return {
			url,
			warning: `OpenStack address ${trimmed} is a Keystone v2.0 URL; v2.0 is gone from current OpenStack, so ${url} (v3 at that host) is used: set the integration's address to it`,
		};
	}
	if (path === "") {
		parsed.pathname = "/v3";
		return { url: parsed.toString() };
	}
	return { url: trimmed };
}

/** The `OS_*` variables of an Openstack integration's settings (the `openstack` CLI's names). */
export function openstackEnvironment(settings: IntegrationConfig): {
	env: Record<string, string>;
	warning?: string;
} {
	const value = (key: string) => settings[key]?.value ?? "";
	const auth = keystoneV3Url(value("address"));
	const domain = value("domain") || "Default";
	const env: Record<string, string> = {
		OS_AUTH_URL: auth.url,
		OS_IDENTITY_API_VERSION: "3",
		OS_AUTH_TYPE: "password",
		OS_USERNAME: value("username"),
		OS_PASSWORD: value("password"),
		OS_PROJECT_NAME: value("tenant_name"),
		OS_USER_DOMAIN_NAME: domain,
		OS_PROJECT_DOMAIN_NAME: domain,
		OS_REGION_NAME: value("region"),
		OS_INTERFACE: "public",
	};
	return auth.warning ? { env, warning: auth.warning } : { env };
}

/** The node's integration when it is an Openstack one. */
export function nodeOpenstackIntegration(
	integrations: readonly JobIntegration[],
	node: string | undefined,
): JobIntegration | undefined {
	const found = node === undefined ? undefined : integrations.find((i) => i.name === node);
	return found?.modelDef.name === OPENSTACK_MODEL ? found : undefined;
}
