// Plain aligned text tables for listings (the --json flag is the machine format).

export type Cell = string | number | boolean | null | undefined;

/** Renders a cell: null/undefined as "-", everything else as text on one line. */
function cellText(value: Cell): string {
	if (value === null || value === undefined || value === "") return "-";
	return String(value).replace(/\s*\n\s*/g, " ");
}

/** Columns separated by two spaces; the last column is not padded. */
export function formatTable(headers: readonly string[], rows: readonly Cell[][]): string {
	const text = [headers.map(String), ...rows.map((row) => headers.map((_, i) => cellText(row[i])))];
	const widths = headers.map((_, i) => Math.max(...text.map((row) => row[i]!.length)));
	return text
		.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  "))
		.map((line) => line.trimEnd())
		.join("\n");
}

/** `key: value` lines with the keys aligned, for the `show` commands. */
export function formatFields(fields: ReadonlyArray<[string, Cell]>): string {
	const width = Math.max(...fields.map(([key]) => key.length + 1));
	return fields.map(([key, value]) => `${`${key}:`.padEnd(width)}  ${cellText(value)}`).join("\n");
}
