// The latest definition of each (project, workflow, branch) a node read last, kept with the
// stamp its workflow's head carried when it was read. Every change to a workflow's definitions
// writes a fresh, never reused stamp into the head after the change and before the call that
// made it returns (workflow.service.ts), and a lookup reads the head first: a stamp that still
// matches proves no change completed since the definition was read, on this node or any other.
// So a run created right after a push or an import, through any node, gets the new version,
// and a run's creation costs one read (the head) instead of two. An entry is also dropped after
// a few seconds: a writer that died between its change and its stamp leaves the old stamp in
// place, and no node keeps the definition it read before that change for longer than that.

import type { DefinitionDoc } from "../../schemas/workflow.ts";

// As many as the run engine keeps by definition id (run-engine.ts).
const MAX_ENTRIES = 500;
export const LATEST_DEFINITION_TTL_MS = 5_000;

export class LatestDefinitions {
	readonly #entries = new Map<string, { stamp: string; doc: DefinitionDoc; at: number }>();
	readonly #now: () => number;

	constructor(now: () => number = Date.now) {
		this.#now = now;
	}

	/** The definition read under `stamp`, a copy (callers may change what they get). */
	get(
		project: string,
		workflow: string,
		branch: string,
		stamp: string | undefined,
	): DefinitionDoc | undefined {
		if (stamp === undefined) return undefined;
		const hit = this.#entries.get(key(project, workflow, branch));
		if (hit?.stamp !== stamp || this.#now() - hit.at >= LATEST_DEFINITION_TTL_MS) return undefined;
		return structuredClone(hit.doc);
	}

	/**
	 * Keeps `doc` as the latest of its branch under `stamp`, which must have been read from the
	 * head BEFORE the definition was (a change in between then leaves the head a newer stamp).
	 */
	set(stamp: string | undefined, doc: DefinitionDoc): void {
		if (stamp === undefined) return;
		// Emptied whole past its bound: cheaper than tracking use, every entry can be read again.
		if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
		this.#entries.set(key(doc.project, doc.workflow, doc.branch), {
			stamp,
			doc: structuredClone(doc),
			at: this.#now(),
		});
	}
}

const key = (project: string, workflow: string, branch: string) =>
	`${project}\u0000${workflow}\u0000${branch}`;
