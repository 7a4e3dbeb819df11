// Who may scrape /metrics: a system administrator token, or the dedicated scrape token
// (CDS_METRICS_TOKEN), which opens nothing else. Any other valid token is a 403, no token or an
// unknown one a 401 — the gateway's usual answers.

import { createHash, timingSafeEqual } from "node:crypto";
import { isSystemAdmin, type Principal } from "../auth/access.ts";

/** Whether `token` is the configured scrape token (compared in constant time). */
export function isScrapeToken(token: string, configured: string | undefined): boolean {
	if (!configured || !token) return false;
	const digest = (v: string) => createHash("sha256").update(v).digest();
	return timingSafeEqual(digest(token), digest(configured));
}

export type ScrapeVerdict = { allowed: true } | { allowed: false; code: 401 | 403; message: string };

/** The verdict for a request whose token resolved to `principal` (null: unknown, revoked or expired). */
export function scrapeVerdict(principal: Principal | null): ScrapeVerdict {
	if (!principal) return { allowed: false, code: 401, message: "invalid, revoked or expired token" };
	if (isSystemAdmin(principal) && !principal.job) return { allowed: true };
	return {
		allowed: false,
		code: 403,
		message: "this token may not read metrics: use a system administrator token or CDS_METRICS_TOKEN",
	};
}
