// Search in a step's log for the web UI: which lines match, case-insensitively, on their visible
// text (escape sequences removed by the caller). Pure, so the 10,000-line case is unit-tested.

/** Indexes of the lines containing `query` (case-insensitive); none for an empty query. */
export function matchingLines(lines: readonly string[], query: string): number[] {
	const q = query.trim().toLowerCase();
	if (!q) return [];
	const out: number[] = [];
	for (let i = 0; i < lines.length; i++) if (lines[i]!.toLowerCase().includes(q)) out.push(i);
	return out;
}

/** The rows a virtualised list of `total` rows of `rowHeight` px shows in a viewport, with `overscan` rows either side. */
export function visibleRange(
	scrollTop: number,
	viewportHeight: number,
	rowHeight: number,
	total: number,
	overscan = 20,
): { first: number; last: number } {
	const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
	const last = Math.min(total, Math.ceil((scrollTop + viewportHeight) / rowHeight) + overscan);
	return { first, last: Math.max(first, last) };
}
