// Swift's TempAuth (v1.0): GET <auth URL> with X-Auth-User/X-Auth-Key answers X-Auth-Token,
// X-Storage-Url and X-Auth-Token-Expires (seconds left).

import { CachedAuth, type SwiftAuth, SwiftAuthError } from "./auth.ts";

export function tempAuth(authUrl: string, user: string, key: string): SwiftAuth {
	return new CachedAuth(async () => {
		const res = await fetch(authUrl, { headers: { "X-Auth-User": user, "X-Auth-Key": key } });
		await res.arrayBuffer();
		const token = res.headers.get("x-auth-token");
		const storageUrl = res.headers.get("x-storage-url");
		if (!res.ok || !token || !storageUrl)
			throw new SwiftAuthError(`TempAuth at ${authUrl} refused user ${user}: HTTP ${res.status}`);
		const left = Number(res.headers.get("x-auth-token-expires"));
		const expiresAt = Date.now() + (Number.isFinite(left) && left > 0 ? left * 1000 : 3600_000);
		return { creds: { token, storageUrl }, expiresAt };
	});
}
