// Error kinds the CLI knows how to report. main() maps them to exit codes and prints
// one clean message; anything else is an unexpected failure (still no stack trace).

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Bad command line or bad local input: exit 2, followed by the command's usage. */
export class UsageError extends Error {
	override name = "UsageError";
}

/** Local input that was understood but is invalid (e.g. a rejected workflow file): exit 2, no usage. */
export class ValidationError extends Error {
	override name = "ValidationError";
	readonly details: string[];
	constructor(message: string, details: string[] = []) {
		super(message);
		this.details = details;
	}
}

/** A failure the user can act on (not logged in, unreachable server, ...): exit 1. */
export class CliFailure extends Error {
	override name = "CliFailure";
}

/** One entry of a 422 response's data.errors. */
export interface ApiErrorDetail {
	file?: string;
	line?: number;
	column?: number;
	field?: string;
	message: string;
}

/** An error response from the CDS API (HTTP 4xx/5xx with the contract's JSON error body). */
export class ApiError extends Error {
	override name = "ApiError";
	readonly status: number;
	readonly type: string;
	readonly data: unknown;
	constructor(status: number, type: string, message: string, data: unknown) {
		super(message);
		this.status = status;
		this.type = type;
		this.data = data;
	}

	/** The data.errors entries, when the server sent any well-formed ones. */
	get details(): ApiErrorDetail[] {
		const errors = (this.data as { errors?: unknown } | null | undefined)?.errors;
		if (!Array.isArray(errors)) return [];
		return errors.filter(
			(e): e is ApiErrorDetail => typeof e === "object" && e !== null && typeof e.message === "string",
		);
	}
}

/** `file:line:column: message`, dropping the parts that are absent. */
export function formatLocated(d: {
	file?: string;
	line?: number;
	column?: number;
	field?: string;
	message: string;
}): string {
	const where: string[] = [];
	if (d.file) {
		where.push(d.file);
		if (d.line !== undefined) where.push(String(d.line));
		if (d.line !== undefined && d.column !== undefined) where.push(String(d.column));
	} else if (d.field) {
		where.push(d.field);
	}
	return where.length > 0 ? `${where.join(":")}: ${d.message}` : d.message;
}
