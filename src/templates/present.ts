// What the template API answers for a repository, a listed template and an instance.

import type {
	TemplateEntryDoc,
	TemplateInstanceDoc,
	TemplateRepoDoc,
	TemplateVersionDoc,
} from "../../schemas/template.ts";

export function presentRepo(doc: TemplateRepoDoc) {
	return {
		name: doc.name,
		url: doc.url,
		description: doc.description,
		refreshed: doc.refreshed,
		created: doc.created,
		updated: doc.updated,
	};
}

export function presentEntry(doc: TemplateEntryDoc) {
	return {
		repo: doc.repo,
		name: doc.name,
		ref: `${doc.repo}/${doc.name}`,
		description: doc.description,
		url: doc.url,
		origin: doc.origin,
		updated: doc.updated,
	};
}

export function presentInstance(doc: TemplateInstanceDoc) {
	return {
		id: doc.id,
		project: doc.project,
		workflow: doc.workflow,
		template: doc.template,
		version: doc.version,
		ref: `${doc.template}@${doc.version}`,
		params: doc.params,
		files: doc.files,
		created: doc.created,
		updated: doc.updated,
	};
}

/**
 * One version of a template: its parameters and files. The listing's description wins over
 * the manifest's unless empty; a template no longer listed still shows (url null).
 */
export function presentTemplate(
	repo: string,
	name: string,
	entry: Pick<TemplateEntryDoc, "description" | "url"> | null,
	v: Pick<TemplateVersionDoc, "version" | "bundle" | "fetched">,
) {
	const m = v.bundle.manifest;
	return {
		repo,
		name,
		ref: `${repo}/${name}@${v.version}`,
		version: v.version,
		description: entry?.description || m.description,
		url: entry?.url ?? null,
		manifest: { slug: m.slug, name: m.name, group: m.group ?? null, description: m.description },
		parameters: m.parameters,
		files: v.bundle.sources.map((s) => ({ kind: s.kind, path: s.path })),
		fetched: v.fetched,
	};
}
