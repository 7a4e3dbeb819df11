// The web UI's session cookie and CSRF rule (docs/ui.md). The browser never holds the API token:
// it is exchanged once for a random session id kept in an HttpOnly, SameSite=Strict cookie; the
// auth service stores only its hash, with an expiry. Writes made with the cookie must also carry
// the session's CSRF token in a header, which a cross-site form or image cannot add.

import { randomBytes, timingSafeEqual } from "node:crypto";

export const SESSION_COOKIE = "cds_session";
/** The header a cookie-authenticated write carries (the session's CSRF token, read from GET /api/v1/ui/session). */
export const CSRF_HEADER = "x-cds-csrf";
/** Methods that change nothing: no CSRF token needed. */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** A fresh secret for a session id or a CSRF token: 256 random bits, URL-safe. */
export function newSecret(): string {
	return randomBytes(32).toString("base64url");
}

/** The value of one cookie of a `Cookie` header, or "" (malformed or oversized values count as absent). */
export function cookieValue(header: string | undefined, name: string): string {
	if (!header || header.length > 8192) return "";
	for (const part of header.split(";")) {
		const eq = part.indexOf("=");
		if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
		const value = part.slice(eq + 1).trim();
		return /^[A-Za-z0-9_-]{16,128}$/.test(value) ? value : "";
	}
	return "";
}

export interface CookieOptions {
	/** Seconds until the browser forgets it; 0 deletes it. */
	maxAgeSeconds: number;
	/** Only over TLS (set when the request came over HTTPS or the public URL is https). */
	secure: boolean;
}

/** The `Set-Cookie` value of the session cookie: HttpOnly, SameSite=Strict, whole site. */
export function sessionCookie(value: string, opts: CookieOptions): string {
	return [
		`${SESSION_COOKIE}=${value}`,
		"Path=/",
		"HttpOnly",
		"SameSite=Strict",
		`Max-Age=${Math.max(0, Math.floor(opts.maxAgeSeconds))}`,
		...(opts.secure ? ["Secure"] : []),
	].join("; ");
}

/** Whether a cookie-authenticated request may proceed: safe methods always, writes with the right token. */
export function csrfAllows(method: string | undefined, header: unknown, expected: string): boolean {
	if (SAFE_METHODS.has((method ?? "GET").toUpperCase())) return true;
	if (typeof header !== "string" || header.length !== expected.length || expected.length === 0) return false;
	return timingSafeEqual(Buffer.from(header), Buffer.from(expected));
}
