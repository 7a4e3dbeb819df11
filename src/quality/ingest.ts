// The decisions of ingesting one report, apart from where reports are stored: which earlier
// reports it is compared with, what is kept of the comparisons, how reports and ignores are
// identified, and which parse of an upload is the right one.

import { createHash } from "node:crypto";
import { type Comparisons, chooseDefaultBranch } from "./baseline.ts";
import { capDelta, compareReports } from "./compare.ts";
import { isIgnoreActive } from "./ignores.ts";
import type { Comparison, ReportKind, StoredReportBody } from "./model.ts";

/** Items kept in each list of a stored comparison (counts stay exact). */
export const MAX_DELTA_ITEMS = 500;

/** A stable short id from its parts (same parts, same id: a retried upload replaces). */
export function hashId(parts: unknown[]): string {
	return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 32);
}

/** The series a report belongs to: one chart line per node, kind and file. */
export function reportSeries(node: string, kind: string, name: string): string {
	return `${node}|${kind}|${name}`;
}

/** Same run, node, job, kind and file: the same report (a retried upload replaces it). */
export function reportId(p: {
	project: string;
	workflow: string;
	runNumber: number;
	node: string;
	jobId: string;
	kind: string;
	name: string;
}): string {
	return hashId([p.project, p.workflow, p.runNumber, p.node, p.jobId, p.kind, p.name]);
}

/**
 * The stored queries for the reports a new one is compared with: the previous run on its
 * branch and, off the default branch, the latest other run on the default branch.
 */
export function baselineQueries(p: {
	project: string;
	workflow: string;
	series: string;
	branch: string;
	runNumber: number;
	defaultBranch: string;
}): { previous: Record<string, unknown>; default?: Record<string, unknown> } {
	const scope = { project: p.project, workflow: p.workflow, series: p.series };
	const previous = { ...scope, branch: p.branch, runNumber: { $lt: p.runNumber } };
	if (p.branch === p.defaultBranch) return { previous };
	return { previous, default: { ...scope, branch: p.defaultBranch, runNumber: { $ne: p.runNumber } } };
}

/** A stored earlier report, as a comparison needs it. */
export interface Baseline {
	doc: { _id: string; runNumber: number; branch: string };
	body: StoredReportBody;
}

/** The report compared with one baseline; none when the two cannot be compared. */
export function compareWith(body: StoredReportBody, base: Baseline): Comparison | undefined {
	const delta = compareReports(body, base.body);
	return delta
		? { against: { reportId: base.doc._id, runNumber: base.doc.runNumber, branch: base.doc.branch }, delta }
		: undefined;
}

/** The full comparisons of a report (the gate judges these, uncut). */
export function compareWithBaselines(
	body: StoredReportBody,
	previous: Baseline | null,
	onDefault: Baseline | null,
): Comparisons {
	const full: Comparisons = {};
	if (previous) full.previous = compareWith(body, previous);
	if (onDefault) full.default = compareWith(body, onDefault);
	return full;
}

/** What is stored of comparisons: each list cut to `max` items. */
export function capComparisons(full: Comparisons, max: number = MAX_DELTA_ITEMS): Comparisons {
	const capped: Comparisons = {};
	if (full.previous) capped.previous = { ...full.previous, delta: capDelta(full.previous.delta, max) };
	if (full.default) capped.default = { ...full.default, delta: capDelta(full.default.delta, max) };
	return capped;
}

/**
 * The default branch a report is compared against: the explicit one, else master when the
 * workflow has reports on master (a run on master counts itself: its first report makes
 * master the default), else main. `reportsOnMaster` is asked only when that decides.
 */
export async function resolveDefaultBranch(
	explicit: string | undefined,
	branch: string,
	reportsOnMaster: () => Promise<number>,
): Promise<string> {
	const hasMaster = !explicit && (branch === "master" || (await reportsOnMaster()) > 0);
	return chooseDefaultBranch(explicit, hasMaster);
}

/**
 * A securityScan step given a SARIF file from a tool the parser files under analysis: read it
 * again as security.
 */
export function rereadAsSecurity(expected: ReportKind, parsed: { kind: string; format: string }): boolean {
	return expected === "security" && parsed.kind === "analysis" && parsed.format === "sarif";
}

/** The problem when an upload is not of the kind its route says, else null. */
export function kindMismatch(
	expected: ReportKind,
	name: string,
	parsed: { kind: string; format: string },
): { message: string; detail: string } | null {
	if (parsed.kind === expected) return null;
	return {
		message: `report ${name} is a ${parsed.kind} report (${parsed.format}), not a ${expected} report`,
		detail: `expected ${expected}, found ${parsed.kind}`,
	};
}

/** Vulnerability ids are kept upper case (CVE-…, GHSA-…), so an ignore matches however typed. */
export function normaliseVulnerability(id: string): string {
	return id.toUpperCase();
}

/** One ignore per project, application, vulnerability and package. */
export function ignoreId(project: string, application: string, vulnerability: string, pkg?: string): string {
	return hashId([project, application, normaliseVulnerability(vulnerability), pkg ?? null]).slice(0, 24);
}

/** An expired ignore may be renewed in place; an active one must be removed first. */
export function mayReplaceIgnore(existing: { expires: string } | null, now: Date = new Date()): boolean {
	return !existing || !isIgnoreActive(existing, now);
}

/** Where an uploaded report's bytes are read from, or why they cannot be. */
export type UploadSource =
	| { from: "store"; sha256: string }
	| { from: "content"; checksum?: string }
	| { from: "none"; message: string; field: "sha256"; detail: string };

/**
 * An upload names its blob (sha256) in the artifact store, or carries its bytes inline
 * (content, base64) when no store is attached; inline bytes with a sha256 must match it.
 */
export function uploadSource(
	p: { sha256?: string; content?: string },
	hasArtifactStore: boolean,
): UploadSource {
	if (p.sha256 && hasArtifactStore) return { from: "store", sha256: p.sha256 };
	if (p.content === undefined) {
		return p.sha256
			? {
					from: "none",
					message: "this node has no artifact store: pass the report file as content (base64)",
					field: "sha256",
					detail: "no artifact store attached",
				}
			: {
					from: "none",
					message: "either sha256 (an uploaded blob) or content is required",
					field: "sha256",
					detail: "required when content is absent",
				};
	}
	return p.sha256 ? { from: "content", checksum: p.sha256 } : { from: "content" };
}

/** Points of a history chart: several reports per run are possible, so read `limit` × this many. */
export const HISTORY_READ_FACTOR = 10;
export const DEFAULT_HISTORY_POINTS = 100;
