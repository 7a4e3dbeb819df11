// The template service's stored documents.

import type { TemplateBundle } from "../src/templates/bundle.ts";
import type { Doc } from "../src/store/types.ts";

export interface TemplateRepoDoc extends Doc {
	name: string;
	/** The index URL; null for a repository whose templates are added one by one. */
	url: string | null;
	description: string;
	refreshed: string | null;
	created: string;
	updated: string;
}

export interface TemplateEntryDoc extends Doc {
	repo: string;
	name: string;
	description: string;
	url: string;
	/** "index" when it came from the repository's index, "manual" when added by itself. */
	origin: "index" | "manual";
	created: string;
	updated: string;
}

export interface TemplateVersionDoc extends Doc {
	repo: string;
	name: string;
	version: number;
	hash: string;
	bundle: TemplateBundle;
	fetched: string;
}

export interface TemplateInstanceDoc extends Doc {
	project: string;
	/** The number templates see as `.id`. */
	id: number;
	/** The workflow it produced. */
	workflow: string;
	template: string;
	version: number;
	/** As given (secrets are armored ciphertext: the server never had them in clear). */
	params: Record<string, unknown>;
	files: string[];
	created: string;
	updated: string;
}

export interface TemplateKeyDoc extends Doc {
	project: string;
	publicKey: string;
	/** The armored private key sealed with the master key; never returned. */
	sealedPrivateKey: string;
	fingerprint: string;
	created: string;
}
