// A minimal Swift object API client for the suites that drive the all-in-one of
// test/tools/start-swift.sh (SWIFT_URL, SWIFT_USER, SWIFT_KEY): TempAuth v1.0 token, requests on
// the account's storage URL, and TempURL signatures (HMAC-SHA256 over `METHOD\nexpires\npath`).

import { createHmac } from "node:crypto";

export interface SwiftSession {
	/** The account's storage URL, e.g. http://127.0.0.1:PORT/v1/AUTH_test. */
	storageUrl: string;
	token: string;
	/** A request on `<storageUrl>/<path>` with the token; throws unless the status is 2xx. */
	request(
		method: string,
		path: string,
		init?: { headers?: Record<string, string>; body?: string },
	): Promise<Response>;
	/** A TempURL (no token needed) for `method` on `<storageUrl>/<path>`, the account's key set first. */
	tempUrl(method: string, path: string, key: string, ttlSeconds?: number): string;
}

export async function swiftSession(url: string, user: string, key: string): Promise<SwiftSession> {
	const auth = await fetch(`${url}/auth/v1.0`, { headers: { "X-Auth-User": user, "X-Auth-Key": key } });
	const token = auth.headers.get("x-auth-token");
	const storageUrl = auth.headers.get("x-storage-url");
	if (!auth.ok || !token || !storageUrl) throw new Error(`TempAuth refused ${user}: ${auth.status}`);
	return {
		storageUrl,
		token,
		async request(method, path, init = {}) {
			const res = await fetch(`${storageUrl}/${path}`, {
				method,
				headers: { "X-Auth-Token": token, ...init.headers },
				body: init.body,
			});
			await res.arrayBuffer();
			if (!res.ok) throw new Error(`${method} ${path}: ${res.status}`);
			return res;
		},
		tempUrl(method, path, tempUrlKey, ttlSeconds = 300) {
			const full = new URL(`${storageUrl}/${path}`);
			const expires = Math.floor(Date.now() / 1000) + ttlSeconds;
			const sig = createHmac("sha256", tempUrlKey)
				.update(`${method}\n${expires}\n${full.pathname}`)
				.digest("hex");
			return `${full.href}?temp_url_sig=${sig}&temp_url_expires=${expires}`;
		},
	};
}
