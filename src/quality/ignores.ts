// Vulnerability ignores: an application may accept a known vulnerability for a while, with a
// reason. An ignore matches by id or alias (CVE, GHSA…), optionally only in one package,
// and stops applying once its expiry date has passed.

import type { StoredVulnerability } from "./model.ts";

export interface VulnerabilityIgnore {
	/** CVE-…, GHSA-… or the scanner's id; matched against a vulnerability's id and aliases. */
	vulnerability: string;
	/** Only this package, when set. */
	package?: string;
	reason: string;
	/** ISO-8601 instant after which the ignore no longer applies. */
	expires: string;
}

export class IgnoreInputError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "IgnoreInputError";
	}
}

const MAX_DAYS = 3660;

/** "30d", "12h" or an ISO date/instant, in the future and at most ten years away. */
export function parseExpiry(input: string, now: Date = new Date()): Date {
	const relative = /^(\d{1,5})([dh])$/.exec(input.trim());
	let when: Date;
	if (relative) {
		const amount = Number(relative[1]);
		when = new Date(now.getTime() + amount * (relative[2] === "d" ? 86_400_000 : 3_600_000));
	} else if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(input.trim())) {
		when = new Date(input.trim());
	} else {
		throw new IgnoreInputError(
			`expires "${input}" is neither a duration (30d, 12h) nor an ISO date (2025-12-31)`,
		);
	}
	if (Number.isNaN(when.getTime())) throw new IgnoreInputError(`expires "${input}" is not a valid date`);
	if (when.getTime() <= now.getTime()) throw new IgnoreInputError(`expires "${input}" is not in the future`);
	if (when.getTime() - now.getTime() > MAX_DAYS * 86_400_000)
		throw new IgnoreInputError(`expires "${input}" is more than ten years away: ignores must be reviewed`);
	return when;
}

export function isIgnoreActive(
	ignore: Pick<VulnerabilityIgnore, "expires">,
	now: Date = new Date(),
): boolean {
	const expires = new Date(ignore.expires).getTime();
	return Number.isFinite(expires) && expires > now.getTime();
}

export function ignoreMatches(
	ignore: VulnerabilityIgnore,
	vulnerability: Pick<StoredVulnerability, "id" | "aliases" | "package">,
	now: Date = new Date(),
): boolean {
	if (!isIgnoreActive(ignore, now)) return false;
	if (ignore.package && ignore.package !== vulnerability.package) return false;
	const wanted = ignore.vulnerability.toUpperCase();
	return [vulnerability.id, ...vulnerability.aliases].some((id) => id.toUpperCase() === wanted);
}

/** The ignore that covers a vulnerability now, if any. */
export function findIgnore<T extends VulnerabilityIgnore>(
	ignores: readonly T[],
	vulnerability: Pick<StoredVulnerability, "id" | "aliases" | "package">,
	now: Date = new Date(),
): T | undefined {
	return ignores.find((ignore) => ignoreMatches(ignore, vulnerability, now));
}
