// A Keystone v3 client (password method, project scope): one token at a time, renewed before it
// expires, and the service catalog that came with it — the endpoint of a service type (compute,
// volumev3, object-store…) for a region and interface. Shared by every OpenStack client of
// CDS-TS; it speaks plain fetch, so it weighs nothing on nodes that do not use OpenStack.

export interface KeystoneCredentials {
	/** The v3 URL (`…/v3`); a URL without a version gets `/v3`. */
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

/** Renew when less than this is left of a token's life. */
const RENEW_MARGIN_MS = 5 * 60_000;

export function v3Url(authUrl: string): string {
	const base = authUrl.replace(/\/+$/, "");
	return /\/v3$/.test(base) ? base : `${base}/v3`;
}

/** The endpoint of `type` in a catalog, for a region (any when unset) and an interface. */
export function catalogEndpoint(
	catalog: readonly CatalogEntry[],
	type: string,
	iface: string,
	region?: string,
): string | undefined {
	const entry = catalog.find((e) => e.type === type);
	const ep = entry?.endpoints.find(
		(e) => e.interface === iface && (!region || e.region_id === region || e.region === region),
	);
	return ep?.url.replace(/\/+$/, "");
}

export class Keystone {
	private readonly creds: KeystoneCredentials;
	private token?: Token;
	private pending?: Promise<Token>;
	private readonly now: () => number;

	constructor(creds: KeystoneCredentials, now: () => number = Date.now) {
		this.creds = creds;
		this.now = now;
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
		const url = catalogEndpoint(t.catalog, type, this.creds.interface, this.creds.region);
		if (!url)
			throw new OpenStackError(
				0,
				`the service catalog has no ${this.creds.interface} ${type} endpoint${this.creds.region ? ` in region ${this.creds.region}` : ""}`,
			);
		return url;
	}

	private async issue(): Promise<Token> {
		const c = this.creds;
		const body = {
			auth: {
				identity: {
					methods: ["password"],
					password: { user: { name: c.username, domain: { name: c.domain }, password: c.password } },
				},
				scope: { project: { name: c.project, domain: { name: c.domain } } },
			},
		};
		const res = await fetch(`${v3Url(c.authUrl)}/auth/tokens`, {
			method: "POST",
			headers: { "Content-Type": "application/json", Accept: "application/json" },
			body: JSON.stringify(body),
			signal: AbortSignal.timeout(30_000),
		});
		const text = await res.text();
		if (res.status !== 201)
			throw new OpenStackError(res.status, `keystone: ${errorMessage(res.status, text)}`);
		const value = res.headers.get("x-subject-token");
		const parsed = JSON.parse(text) as {
			token: { expires_at: string; catalog?: CatalogEntry[]; project?: { id: string } };
		};
		if (!value) throw new OpenStackError(res.status, "keystone: no X-Subject-Token in the answer");
		this.token = {
			value,
			issuedAt: this.now(),
			expiresAt: Date.parse(parsed.token.expires_at),
			catalog: parsed.token.catalog ?? [],
			projectId: parsed.token.project?.id ?? "",
		};
		return this.token;
	}
}
