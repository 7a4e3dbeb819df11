/**
 * Optimal-string-alignment distance: Levenshtein plus adjacent transposition, so that the
 * common typo "scirpt" is one edit away from "script".
 */
function editDistance(a: string, b: string): number {
	const rows = a.length + 1;
	const cols = b.length + 1;
	const d: number[][] = Array.from({ length: rows }, () => new Array<number>(cols).fill(0));
	for (let i = 0; i < rows; i++) d[i]![0] = i;
	for (let j = 0; j < cols; j++) d[0]![j] = j;
	for (let i = 1; i < rows; i++) {
		for (let j = 1; j < cols; j++) {
			const cost = a[i - 1] === b[j - 1] ? 0 : 1;
			let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
			if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
				best = Math.min(best, d[i - 2]![j - 2]! + 1);
			}
			d[i]![j] = best;
		}
	}
	return d[rows - 1]![cols - 1]!;
}

/** The closest candidate if it is plausibly a typo of `word`, else undefined. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
	const lower = word.toLowerCase();
	const limit = word.length <= 3 ? 1 : word.length <= 6 ? 2 : 3;
	let best: string | undefined;
	let bestDistance = Number.POSITIVE_INFINITY;
	for (const candidate of candidates) {
		const distance = editDistance(lower, candidate.toLowerCase());
		if (distance < bestDistance) {
			best = candidate;
			bestDistance = distance;
		}
	}
	return bestDistance <= limit ? best : undefined;
}

/** " (did you mean 'x'?)" or "" — appended to unknown-name messages. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
	const match = closest(word, candidates);
	return match === undefined ? "" : ` (did you mean '${match}'?)`;
}
