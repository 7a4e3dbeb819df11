// Keystone v3 password authentication for Swift: POST /v3/auth/tokens scoped to a project,
// the token in X-Subject-Token, its expiry in token.expires_at, and the object-store endpoint
// (public interface, in the configured region when one is) from the token's catalog.
// The integration model's example address is a Keystone v2.0 URL; v2.0 is gone from current
// OpenStack, so such an address is used as v3 at the same host (`keystoneV3Url` says so).

import { CachedAuth, type SwiftAuth, SwiftAuthError } from "./auth.ts";

export interface KeystoneOptions {
	/** The identity endpoint: `https://host:5000`, `…/v3` or a v2.0 URL (then v3 at that host). */
	authUrl: string;
	user: string;
	password: string;
	/** The project (tenant) the token is scoped to. */
	project: string;
	/** The domain of the user and the project (Keystone's `Default` unless told). */
	domain: string;
	region?: string;
}

/** The v3 base URL of an identity address, and a warning when it was a v2.0 address. */
export function keystoneV3Url(address: string): { url: string; warning?: string } {
	const u = new URL(address);
	const path = u.pathname.replace(/\/+$/, "");
	const v2 = /\/v2(\.0)?$/.exec(path);
	if (v2) {
		u.pathname = `${path.slice(0, v2.index)}/v3`;
		return {
			url: u.href,
			warning: `Keystone v2.0 address ${address}: v2.0 is gone from current OpenStack, using v3 at ${u.href} (set the address to ${u.href} to silence this)`,
		};
	}
	if (/\/v3$/.test(path)) return { url: `${u.origin}${path}` };
	return { url: `${u.origin}${path}/v3` };
}

/** The body of a project-scoped password authentication. Never logged: it holds the password. */
export function passwordAuthBody(o: Pick<KeystoneOptions, "user" | "password" | "project" | "domain">) {
	return {
		auth: {
			identity: {
				methods: ["password"],
				password: { user: { name: o.user, domain: { name: o.domain }, password: o.password } },
			},
			scope: { project: { name: o.project, domain: { name: o.domain } } },
		},
	};
}

interface CatalogEndpoint {
	interface?: string;
	region?: string;
	region_id?: string;
	url?: string;
}

/** Expiry and object-store URL of a v3 token response body. */
export function parseTokenResponse(
	body: unknown,
	region?: string,
): { expiresAt: number; storageUrl: string } {
	const token = (body as { token?: Record<string, unknown> } | null)?.token;
	if (!token || typeof token !== "object") throw new SwiftAuthError("Keystone answered without a token");
	const expiresAt = Date.parse(String(token.expires_at ?? ""));
	if (!Number.isFinite(expiresAt)) throw new SwiftAuthError("Keystone's token has no valid expires_at");
	const catalog = Array.isArray(token.catalog) ? (token.catalog as Record<string, unknown>[]) : [];
	const services = catalog.filter((s) => s?.type === "object-store");
	if (services.length === 0)
		throw new SwiftAuthError("Keystone's catalog has no object-store service (is Swift registered?)");
	const endpoints = services.flatMap((s) =>
		Array.isArray(s.endpoints) ? (s.endpoints as CatalogEndpoint[]) : [],
	);
	const publicOnes = endpoints.filter((e) => e.interface === "public" && typeof e.url === "string");
	const inRegion = region ? publicOnes.filter((e) => (e.region_id ?? e.region) === region) : publicOnes;
	const chosen = inRegion[0];
	if (!chosen) {
		const regions = [...new Set(publicOnes.map((e) => e.region_id ?? e.region))].join(", ") || "none";
		throw new SwiftAuthError(
			region
				? `Keystone's catalog has no public object-store endpoint in region ${region} (regions: ${regions})`
				: "Keystone's catalog has no public object-store endpoint",
		);
	}
	return { expiresAt, storageUrl: chosen.url!.replace(/\/+$/, "") };
}

export function keystoneAuth(o: KeystoneOptions, warn: (message: string) => void = () => {}): SwiftAuth {
	const { url, warning } = keystoneV3Url(o.authUrl);
	if (warning) warn(warning);
	const tokensUrl = `${url.replace(/\/+$/, "")}/auth/tokens`;
	return new CachedAuth(async () => {
		const res = await fetch(tokensUrl, {
			method: "POST",
			headers: { "Content-Type": "application/json", Accept: "application/json" },
			body: JSON.stringify(passwordAuthBody(o)),
		});
		const text = await res.text();
		const token = res.headers.get("x-subject-token");
		if (!res.ok || !token)
			throw new SwiftAuthError(
				`Keystone at ${tokensUrl} refused user ${o.user} (project ${o.project}, domain ${o.domain}): HTTP ${res.status}`,
			);
		let body: unknown;
		try {
			body = JSON.parse(text);
		} catch {
			throw new SwiftAuthError(`Keystone at ${tokensUrl} answered a token without a JSON body`);
		}
		const { expiresAt, storageUrl } = parseTokenResponse(body, o.region);
		return { creds: { token, storageUrl }, expiresAt };
	});
}
