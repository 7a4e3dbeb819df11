// The one Keystone v3 client of CDS-TS (password method, project scope), used by the Nova
// hatchery and the Swift artifact store: one token at a time, shared by concurrent callers,
// renewed before it expires and again when a service answers 401 (`invalidate`), and the
// service catalog that came with it — the endpoint of a service type (compute, volumev3,
// object-store…) for a region and interface. It speaks plain fetch, so it weighs nothing on
// nodes that do not use OpenStack.
//
// Addresses: v2.0 is gone from current OpenStack, but it is the integration model's example
// address: a v2.0 URL is used as v3 at the same host, with a warning (`keystoneV3Url`).

export interface KeystoneCredentials {
	/** The identity endpoint: `https://host:5000`, `…/v3`, or a v2.0 URL (then v3 at that host). */
	authUrl: string;
	username: string;
	password: string;
	project: string;
	/** The domain of both the user and the project (by name). */
	domain: string;
	region?: string;
	interface: "public" | "internal" | "admin";
}

export interface CatalogEndpoint {
	interface: string;
	region_id?: string;
	region?: string;
	url: string;
}

export interface CatalogEntry {
	type: string;
	name?: string;
	endpoints: CatalogEndpoint[];
}

interface Token {
	value: string;
	issuedAt: number;
	expiresAt: number;
	catalog: CatalogEntry[];
	projectId: string;
}

/** An error answer of an OpenStack API: its HTTP status and the message of its body. */
export class OpenStackError extends Error {
	readonly status: number;
	constructor(status: number, message: string) {
		super(message);
		this.name = "OpenStackError";
		this.status = status;
	}
}

/**
 * The message of an OpenStack error body: Nova and Cinder wrap it in an object named after the
 * fault (`{"overLimit": {"code": 413, "message": …}}`), Keystone in `error`.
 */
export function errorMessage(status: number, text: string): string {
	try {
		const body = JSON.parse(text) as Record<string, { message?: string } | undefined>;
		for (const v of Object.values(body)) if (v && typeof v.message === "string") return v.message;
	} catch {
		/* not JSON */
	}
	return `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ""}`;
}

/** Renew when less than this is left of a token's life (or half its life, for short-lived tokens). */
export const RENEW_MARGIN_MS = 5 * 60_000;

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
export function passwordAuthBody(
	c: Pick<KeystoneCredentials, "username" | "password" | "project" | "domain">,
) {
	return {
		auth: {
			identity: {
				methods: ["password"],
				password: { user: { name: c.username, domain: { name: c.domain }, password: c.password } },
			},
			scope: { project: { name: c.project, domain: { name: c.domain } } },
		},
	};
}

/** Expiry, catalog and project of a v3 token answer's body. */
export function parseToken(body: unknown): { expiresAt: number; catalog: CatalogEntry[]; projectId: string } {
	const token = (body as { token?: Record<string, unknown> } | null)?.token;
	if (!token || typeof token !== "object") throw new OpenStackError(0, "keystone answered without a token");
	const expiresAt = Date.parse(String(token.expires_at ?? ""));
	if (!Number.isFinite(expiresAt)) throw new OpenStackError(0, "keystone's token has no valid expires_at");
	const catalog = Array.isArray(token.catalog) ? (token.catalog as CatalogEntry[]) : [];
	return { expiresAt, catalog, projectId: (token.project as { id?: string } | undefined)?.id ?? "" };
}

function endpointsOf(catalog: readonly CatalogEntry[], type: string, iface: string): CatalogEndpoint[] {
	return catalog
		.filter((e) => e?.type === type)
		.flatMap((e) => (Array.isArray(e.endpoints) ? e.endpoints : []))
		.filter((e) => e.interface === iface && typeof e.url === "string");
}

/** The endpoint of `type` in a catalog, for a region (any when unset) and an interface. */
export function catalogEndpoint(
	catalog: readonly CatalogEntry[],
	type: string,
	iface: string,
	region?: string,
): string | undefined {
	const ep = endpointsOf(catalog, type, iface).find(
		(e) => !region || e.region_id === region || e.region === region,
	);
	return ep?.url.replace(/\/+$/, "");
}

/** Why a catalog has no such endpoint, naming what it has instead. */
export function missingEndpoint(
	catalog: readonly CatalogEntry[],
	type: string,
	iface: string,
	region?: string,
): string {
	const what = `the service catalog has no ${iface} ${type} endpoint`;
	if (!catalog.some((e) => e?.type === type)) return `${what} (no ${type} service: is it registered?)`;
	if (!region) return what;
	const regions = [...new Set(endpointsOf(catalog, type, iface).map((e) => e.region_id ?? e.region))];
	return `${what} in region ${region} (regions: ${regions.join(", ") || "none"})`;
}

export interface KeystoneOptions {
	now?: () => number;
	/** Told once, at construction, when the address is a v2.0 one. */
	warn?: (message: string) => void;
}

export class Keystone {
	private readonly creds: KeystoneCredentials;
	private token?: Token;
	private pending?: Promise<Token>;
	private readonly now: () => number;
	private readonly tokensUrl: string;

	constructor(creds: KeystoneCredentials, opts: KeystoneOptions = {}) {
		this.creds = creds;
		this.now = opts.now ?? Date.now;
		const { url, warning } = keystoneV3Url(creds.authUrl);
		if (warning) opts.warn?.(warning);
		this.tokensUrl = `${url.replace(/\/+$/, "")}/auth/tokens`;
	}

	/** A valid token (issued anew when none, or when the current one is near its end). */
	async current(): Promise<Token> {
		const t = this.token;
		// Renewed ahead of its end: 5 minutes, or half its life for short-lived tokens.
		if (t && t.expiresAt - this.now() > Math.min(RENEW_MARGIN_MS, (t.expiresAt - t.issuedAt) / 2)) return t;
		this.pending ??= this.issue().finally(() => {
			this.pending = undefined;
		});
		return this.pending;
	}

	/** Forgets the token (an API answered 401: it was revoked), so the next call issues one. */
	invalidate(): void {
		this.token = undefined;
	}

	async endpoint(type: string): Promise<string> {
		const t = await this.current();
		const { interface: iface, region } = this.creds;
		const url = catalogEndpoint(t.catalog, type, iface, region);
		if (!url) throw new OpenStackError(0, missingEndpoint(t.catalog, type, iface, region));
		return url;
	}

	private async issue(): Promise<Token> {
		const c = this.creds;
		const res = await fetch(this.tokensUrl, {
			method: "POST",
			headers: { "Content-Type": "application/json", Accept: "application/json" },
			body: JSON.stringify(passwordAuthBody(c)),
			signal: AbortSignal.timeout(30_000),
		});
		const text = await res.text();
		// Who was refused, never with what: the password stays out of every message.
		if (res.status !== 201) {
			const why = errorMessage(res.status, text);
			throw new OpenStackError(
				res.status,
				`keystone at ${this.tokensUrl} refused user ${c.username} (project ${c.project}, domain ${c.domain}): ${why.startsWith("HTTP ") ? why : `HTTP ${res.status}: ${why}`}`,
			);
		}
		const value = res.headers.get("x-subject-token");
		if (!value) throw new OpenStackError(res.status, "keystone: no X-Subject-Token in the answer");
		let body: unknown;
		try {
			body = JSON.parse(text);
		} catch {
			throw new OpenStackError(
				res.status,
				`keystone at ${this.tokensUrl} answered a token without a JSON body`,
			);
		}
		this.token = { value, issuedAt: this.now(), ...parseToken(body) };
		return this.token;
	}
}
