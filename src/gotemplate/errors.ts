/**
 * Errors raised while parsing or executing a Go-style template. The message
 * follows Go's text/template shape ("template: NAME:LINE:COL: ..."), and the
 * position is also exposed as fields so callers can point at the source.
 */
export class TemplateError extends Error {
	templateName: string;
	line: number;
	column: number;
	/** "parse" for syntax errors, "exec" for errors raised while rendering. */
	phase: "parse" | "exec";

	constructor(message: string, templateName: string, line: number, column: number, phase: "parse" | "exec") {
		super(message);
		this.name = "TemplateError";
		this.templateName = templateName;
		this.line = line;
		this.column = column;
		this.phase = phase;
	}
}

/** A source position: line is 1-based, column is Go's 0-based byte offset in the line. */
export interface SourcePosition {
	line: number;
	column: number;
}

/** Converts a UTF-16 offset into Go's line and byte column (Tree.ErrorContext semantics). */
export function positionAt(text: string, offset: number): SourcePosition {
	const before = text.slice(0, offset);
	const lastNewline = before.lastIndexOf("\n");
	let line = 1;
	for (let i = 0; i < before.length; i++) if (before.charCodeAt(i) === 10) line++;
	const column = Buffer.byteLength(lastNewline === -1 ? before : before.slice(lastNewline + 1), "utf8");
	return { line, column };
}
