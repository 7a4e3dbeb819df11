// Stable fingerprints: the same problem keeps its fingerprint when unrelated lines move.
import { createHash } from "node:crypto";
import type { Finding, Vulnerability } from "./model.ts";

function sha256(parts: string[]): string {
	const hash = createHash("sha256");
	for (const part of parts) hash.update(part).update("\u0000");
	return hash.digest("hex").slice(0, 32);
}

/** Lower-cased, numbers blanked (messages often quote line numbers or counts), whitespace collapsed. */
function normaliseMessage(message: string): string {
	return message.toLowerCase().replace(/\d+/g, "#").replace(/\s+/g, " ").trim();
}

export function hashLineContent(line: string): string {
	return sha256([line.trim().replace(/\s+/g, " ")]);
}

export interface FindingIdentity {
	tool: string;
	rule: string;
	file?: string;
	message: string;
	/** Hash of the source line's content when the report gives it (or the tool's own line hash). */
	lineHash?: string;
	/** SARIF partialFingerprints / fingerprints: the tool's own stable identity wins. */
	toolFingerprints?: Record<string, string>;
}

/**
 * tool + rule + file + either the tool's fingerprints, or normalised message + line content hash.
 * Without a line hash, identical findings in one file are told apart by their order (see numberDuplicates).
 */
export function findingFingerprint(identity: FindingIdentity): string {
	const base = [identity.tool.toLowerCase(), identity.rule, identity.file ?? ""];
	const own = identity.toolFingerprints && Object.entries(identity.toolFingerprints);
	if (own && own.length > 0) {
		own.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
		return sha256([...base, "tool", ...own.map(([k, v]) => `${k}=${v}`)]);
	}
	return sha256([...base, normaliseMessage(identity.message), identity.lineHash ?? ""]);
}

/** Two findings with the same fingerprint get "~2", "~3"… in document order so each stays distinct. */
export function numberDuplicates<T extends Finding | Vulnerability>(items: T[]): T[] {
	const seen = new Map<string, number>();
	for (const item of items) {
		const count = (seen.get(item.fingerprint) ?? 0) + 1;
		seen.set(item.fingerprint, count);
		if (count > 1) item.fingerprint = `${item.fingerprint}~${count}`;
	}
	return items;
}

/** The vulnerability (CVE first), the package and its version, and where it was found. */
export function vulnerabilityFingerprint(v: {
	id: string;
	package: string;
	installedVersion?: string;
	target?: string;
}): string {
	return sha256([v.id.toUpperCase(), v.package, v.installedVersion ?? "", v.target ?? ""]);
}
