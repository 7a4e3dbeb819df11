// API tokens: random, shown once, stored only as a SHA-256 hash (they are 256-bit random
// values, so a fast hash is enough — nothing to brute-force).

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

const TOKEN_PREFIX = "cds_";
const TOKEN_FORMAT = /^cds_([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{20,})$/;

/**
 * A token names its own record (`cds_<id>.<secret>`), so resolving it is a lookup by _id —
 * the one index every store answers without a scan — followed by a hash comparison.
 */
export function generateToken(id: string): string {
	return `${TOKEN_PREFIX}${id}.${randomBytes(32).toString("base64url")}`;
}

/** The record id a token names, or undefined for tokens of another form (CDS_ADMIN_TOKEN). */
export function tokenId(token: string): string | undefined {
	return TOKEN_FORMAT.exec(token)?.[1];
}

const JOB_TOKEN_PREFIX = "cdsw_";
const JOB_TOKEN_FORMAT = /^cdsw_([A-Za-z0-9_-]{1,480})\.([A-Za-z0-9_-]{43})$/;

/**
 * A worker's token names its job (`cdsw_<job, base64url>.<secret>`) instead of a token record: it
 * is valid while the job's booking holds its hash (the run engine's active entry), so it costs
 * no write of its own and dies when the booking ends (docs/security.md).
 */
export function generateJobToken(job: string): { token: string; id: string; hash: string } {
	const token = `${JOB_TOKEN_PREFIX}${Buffer.from(job, "utf8").toString("base64url")}.${randomBytes(32).toString("base64url")}`;
	return { token, id: generateTokenId(), hash: hashToken(token) };
}

/** The job a worker's token names, or undefined for any other string. */
export function jobOfToken(token: string): string | undefined {
	const m = JOB_TOKEN_FORMAT.exec(token);
	if (!m) return undefined;
	const job = Buffer.from(m[1]!, "base64url").toString("utf8");
	// Only the canonical encoding: one job, one spelling of its token.
	return Buffer.from(job, "utf8").toString("base64url") === m[1] ? job : undefined;
}

export function sameHash(a: string, b: string): boolean {
	const x = Buffer.from(a, "hex");
	const y = Buffer.from(b, "hex");
	return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

export function generateTokenId(): string {
	return randomBytes(9).toString("base64url");
}

export function hashToken(token: string): string {
	return createHash("sha256").update(token, "utf8").digest("hex");
}

const DURATION = /^(\d+)\s*(m|h|d|w)$/;
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * Reads an expiry given as a duration ("30d", "12h", "2w", "90m") or an ISO-8601 date.
 * Returns the expiry instant, or throws a message suitable for a 422.
 */
export function parseExpiry(value: string, now = new Date()): Date {
	const m = DURATION.exec(value.trim());
	if (m) {
		const amount = Number(m[1]);
		if (amount <= 0) throw new Error(`expiry '${value}' must be positive`);
		return new Date(now.getTime() + amount * UNIT_MS[m[2]]);
	}
	if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
		const d = new Date(value);
		if (!Number.isNaN(d.getTime())) {
			if (d.getTime() <= now.getTime()) throw new Error(`expiry '${value}' is in the past`);
			return d;
		}
	}
	throw new Error(`expiry '${value}' is neither a duration like 30d, 12h, 2w, 90m nor an ISO-8601 date`);
}
