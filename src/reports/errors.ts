import type { ReportFormat } from "./model.ts";

export interface ReportErrorLocation {
	file?: string;
	format?: ReportFormat;
	line?: number;
	column?: number;
	/** Byte or character offset when no line is known (JSON). */
	position?: number;
}

/** Every failure to read or understand a report ends as this error: never a crash, never a hang. */
export class ReportParseError extends Error {
	readonly file?: string;
	readonly format?: ReportFormat;
	readonly line?: number;
	readonly column?: number;
	readonly position?: number;
	readonly reason: string;

	constructor(reason: string, where: ReportErrorLocation = {}) {
		super(describe(reason, where));
		this.name = "ReportParseError";
		this.reason = reason;
		this.file = where.file;
		this.format = where.format;
		this.line = where.line;
		this.column = where.column;
		this.position = where.position;
	}
}

function describe(reason: string, where: ReportErrorLocation): string {
	const parts: string[] = [];
	if (where.file) parts.push(where.file);
	if (where.line !== undefined) parts.push(`line ${where.line}${where.column ? `:${where.column}` : ""}`);
	else if (where.position !== undefined) parts.push(`position ${where.position}`);
	const at = parts.length ? `${parts.join(" ")}: ` : "";
	const format = where.format ? ` (${where.format})` : "";
	return `${at}${reason}${format}`;
}

/** Context each parser receives so its errors name the file and format. */
export interface ParseContext {
	file?: string;
	format: ReportFormat;
}

export function failure(
	ctx: ParseContext,
	reason: string,
	at: Omit<ReportErrorLocation, "file" | "format"> = {},
) {
	return new ReportParseError(reason, { file: ctx.file, format: ctx.format, ...at });
}
