// What the run engine refuses, without knowing how the caller reports it: the run service
// turns these into 404 / 409 client errors.

export class RunNotFoundError extends Error {
	readonly what: string;
	readonly data: Record<string, unknown>;
	constructor(what: string, data: Record<string, unknown> = {}) {
		super(`${what} not found`);
		this.name = "RunNotFoundError";
		this.what = what;
		this.data = data;
	}
}

export class RunConflictError extends Error {
	readonly data: Record<string, unknown>;
	constructor(message: string, data: Record<string, unknown> = {}) {
		super(message);
		this.name = "RunConflictError";
		this.data = data;
	}
}

/** A malformed request value (a cursor that is not one the engine handed out): a 422 for the field. */
export class RunInputError extends Error {
	readonly field: string;
	constructor(field: string, message: string) {
		super(message);
		this.name = "RunInputError";
		this.field = field;
	}
}
