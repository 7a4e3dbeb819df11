// What the object API client needs from an authentication: a token and the account's storage
// URL, renewed when it expires or Swift answers 401.

export interface SwiftCredentials {
	token: string;
	/** The account's storage URL, e.g. https://swift.example/v1/AUTH_0123… */
	storageUrl: string;
}

export interface SwiftAuth {
	/** Cached credentials, fetched again when they are about to expire. */
	credentials(): Promise<SwiftCredentials>;
	/** Forget the cached token (Swift answered 401: revoked or expired early). */
	invalidate(): void;
}

/** Refresh this long before a token's announced expiry, so no request leaves with a dying token. */
export const TOKEN_RENEW_MARGIN_MS = 60_000;

export class SwiftAuthError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "SwiftAuthError";
	}
}

/** Caches one credential set until `expiresAt - margin`; concurrent callers share one fetch. */
export class CachedAuth implements SwiftAuth {
	private cached?: { creds: SwiftCredentials; expiresAt: number };
	private pending?: Promise<SwiftCredentials>;
	private readonly fetchCreds: () => Promise<{ creds: SwiftCredentials; expiresAt: number }>;
	private readonly now: () => number;

	constructor(fetchCreds: () => Promise<{ creds: SwiftCredentials; expiresAt: number }>, now = Date.now) {
		this.fetchCreds = fetchCreds;
		this.now = now;
	}

	credentials(): Promise<SwiftCredentials> {
		if (this.cached && this.now() < this.cached.expiresAt - TOKEN_RENEW_MARGIN_MS)
			return Promise.resolve(this.cached.creds);
		this.pending ??= this.fetchCreds()
			.then((c) => {
				this.cached = c;
				return c.creds;
			})
			.finally(() => {
				this.pending = undefined;
			});
		return this.pending;
	}

	invalidate(): void {
		this.cached = undefined;
	}
}
