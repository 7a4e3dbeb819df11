// The rules of template versions and instances, apart from where they are stored: when a
// download is a new version, when a workflow may switch templates, which number a new
// instance gets, what is recorded of its parameters, what an apply renders, and how an
// index refresh changes a repository's list.

import type { TemplateEntryDoc, TemplateInstanceDoc } from "../../schemas/template.ts";
import type { IndexEntry } from "./repository-index.ts";

/** Stored id of one version of a template. */
export function versionId(repo: string, name: string, version: number): string {
	return `${repo}/${name}@${version}`;
}

/**
 * What a download of a template is, given the latest stored version: that version again when
 * the content did not change, else the next number.
 */
export function nextVersion(
	latest: { version: number; hash: string } | undefined,
	hash: string,
): { reuse: true } | { reuse: false; version: number } {
	if (latest?.hash === hash) return { reuse: true };
	return { reuse: false, version: (latest?.version ?? 0) + 1 };
}

/**
 * Why a render may not go ahead for a workflow already made from a template, or null: a
 * workflow switches templates only when forced.
 */
export function templateSwitchRefusal(
	existing: Pick<TemplateInstanceDoc, "template"> | null,
	workflow: string,
	template: string,
	force: boolean,
): string | null {
	if (!existing || existing.template === template || force) return null;
	return `workflow ${workflow} was made from template ${existing.template}: render with force to switch templates`;
}

/**
 * The instance number (`.id` in templates) of a workflow of a project: kept on re-render,
 * otherwise the first number from `count + 1` on whose claim this workflow wins (or already
 * holds). `claim` must be atomic (a unique insert): two workflows never share a number.
 */
export async function instanceNumber(
	existing: number | undefined,
	count: number,
	claim: (candidate: number) => Promise<{ won: boolean; owner: string }>,
	owner: string,
): Promise<number> {
	if (existing !== undefined) return existing;
	let candidate = count + 1;
	for (;;) {
		const c = await claim(candidate);
		if (c.won || c.owner === owner) return candidate;
		candidate++;
	}
}

/**
 * The parameters recorded on an instance: those the template declares, as given (secrets stay
 * armored ciphertext; defaults are not recorded, so a later version's defaults apply).
 */
export function recordedParams(
	checked: Record<string, unknown>,
	given: Record<string, unknown>,
): Record<string, unknown> {
	return Object.fromEntries(Object.keys(checked).map((k) => [k, given[k]]));
}

/** What applying an instance again renders: its template (at a version, else latest) and its parameters with changes. */
export function applyRequest(
	instance: Pick<TemplateInstanceDoc, "template" | "params">,
	version: number | undefined,
	changes: Record<string, unknown> | undefined,
): { template: string; params: Record<string, unknown> } {
	return {
		template: `${instance.template}${version ? `@${version}` : ""}`,
		params: { ...instance.params, ...(changes ?? {}) },
	};
}

/** A re-rendered workflow is imported unless it is as code (its repository owns it) or the caller says not to. */
export function shouldImport(asCode: boolean, importFlag: boolean | undefined): boolean {
	return !asCode && importFlag !== false;
}

/**
 * How a refresh of a repository's index changes its stored templates: index-made entries no
 * longer listed go; listed ones are written, except those added by hand (the index does not
 * own them), keeping their creation date.
 */
export function planIndexRefresh(
	repo: string,
	listed: IndexEntry[],
	stored: Array<Pick<TemplateEntryDoc, "_id" | "origin" | "created">>,
	now: string,
): { remove: string[]; write: TemplateEntryDoc[] } {
	const keep = new Set(listed.map((e) => `${repo}/${e.name}`));
	const byId = new Map(stored.map((d) => [d._id, d]));
	const remove = stored.filter((d) => d.origin === "index" && !keep.has(d._id)).map((d) => d._id);
	const write: TemplateEntryDoc[] = [];
	for (const entry of listed) {
		const id = `${repo}/${entry.name}`;
		const current = byId.get(id);
		if (current?.origin === "manual") continue;
		write.push(indexEntryDoc(repo, entry, current?.created ?? now, now));
	}
	return { remove, write };
}

/** The stored entry of a template listed by a repository's index. */
export function indexEntryDoc(
	repo: string,
	entry: IndexEntry,
	created: string,
	now: string,
): TemplateEntryDoc {
	return {
		_id: `${repo}/${entry.name}`,
		repo,
		name: entry.name,
		description: entry.description,
		url: entry.url,
		origin: "index",
		created,
		updated: now,
	};
}
