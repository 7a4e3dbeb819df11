// Client errors, conduit-style: `MoleculerClientError(message, 4xx, TYPE, data)`.

import { Errors } from "moleculer";

const { MoleculerClientError } = Errors;

export function notFound(what: string, data?: Record<string, unknown>) {
	return new MoleculerClientError(`${what} not found`, 404, "NOT_FOUND", data);
}

export function conflict(message: string, data?: Record<string, unknown>) {
	return new MoleculerClientError(message, 409, "CONFLICT", data);
}

export function invalid(message: string, errors: Array<Record<string, unknown>> = []) {
	return new MoleculerClientError(message, 422, "VALIDATION_ERROR", { errors });
}

export function forbidden(message = "this token does not grant access to this resource") {
	return new MoleculerClientError(message, 403, "FORBIDDEN");
}
