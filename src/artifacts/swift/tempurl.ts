// Swift TempURL signatures (the `tempurl` middleware): an HMAC, keyed by the account's
// X-Account-Meta-Temp-URL-Key, over "METHOD\nEXPIRES\nPATH", where PATH is the object's path
// from /v1 on (`/v1/AUTH_x/container/object`). The digest is the strongest the cluster's
// /info lists in `tempurl.allowed_digests` among the two we sign with.

import { createHmac } from "node:crypto";

export type TempUrlDigest = "sha256" | "sha1";

export function tempUrlSignature(
	key: string,
	method: string,
	expires: number,
	objectPath: string,
	digest: TempUrlDigest,
): string {
	return createHmac(digest, key).update(`${method}\n${expires}\n${objectPath}`).digest("hex");
}

/** The URL of `objectUrl` (absolute) signed for `method` until `expires` (Unix seconds). */
export function signTempUrl(
	objectUrl: string,
	key: string,
	method: string,
	expires: number,
	digest: TempUrlDigest,
): string {
	const url = new URL(objectUrl);
	const sig = tempUrlSignature(key, method, expires, url.pathname, digest);
	url.search = `temp_url_sig=${sig}&temp_url_expires=${expires}`;
	return url.href;
}

/** The digest to sign with, from /info's `tempurl` section (absent: Swift's old default, SHA-1). */
export function chooseDigest(info: unknown): TempUrlDigest {
	const allowed = (info as { tempurl?: { allowed_digests?: unknown } } | undefined)?.tempurl?.allowed_digests;
	if (!Array.isArray(allowed)) return "sha1";
	if (allowed.includes("sha256")) return "sha256";
	if (allowed.includes("sha1")) return "sha1";
	throw new Error(
		`the Swift cluster allows no TempURL digest CDS-TS signs with (allowed: ${allowed.join(", ")})`,
	);
}
