// Which stored blobs may go: those no reference points at any more, seen unreferenced in two
// collections at least `graceMs` apart — an upload writes its blob before its reference, so a
// blob caught in between is never taken for garbage.

export class BlobSweeper {
	private readonly firstSeen = new Map<string, number>();

	/** The blobs to delete now, given every stored blob and every referenced one. */
	sweep(stored: Iterable<string>, referenced: ReadonlySet<string>, now: number, graceMs: number): string[] {
		const doomed: string[] = [];
		const stillUnreferenced = new Set<string>();
		for (const sha of stored) {
			if (referenced.has(sha)) continue;
			stillUnreferenced.add(sha);
			const since = this.firstSeen.get(sha);
			if (since === undefined) this.firstSeen.set(sha, now);
			else if (now - since >= graceMs) doomed.push(sha);
		}
		for (const sha of this.firstSeen.keys()) if (!stillUnreferenced.has(sha)) this.firstSeen.delete(sha);
		for (const sha of doomed) this.firstSeen.delete(sha);
		return doomed;
	}
}

/** Run numbers of a workflow that fall out of its history (the newest `keep` are kept). */
export function expiredRunNumbers(last: number, keep: number): { below: number } {
	return { below: Math.max(0, last - Math.max(1, keep) + 1) };
}
