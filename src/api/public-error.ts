// The one error shape the API answers, `{code, type, message, data}`, from whatever was thrown:
// client errors keep their code and type; a service that is down or a node that died becomes
// 503 with a retry hint; anything else is a 500 that leaks no stack, node id or message.

export interface PublicError {
	code: number;
	type: string;
	message: string;
	data?: unknown;
}

/** Seconds a client waits before retrying a 503 (the `Retry-After` header). */
export const RETRY_AFTER_SECONDS = 2;

const ERROR_TYPES_BY_CODE: Record<number, string> = {
	400: "BAD_REQUEST",
	401: "UNAUTHORIZED",
	403: "FORBIDDEN",
	404: "NOT_FOUND",
	409: "CONFLICT",
	413: "PAYLOAD_TOO_LARGE",
	415: "UNSUPPORTED_MEDIA_TYPE",
	422: "VALIDATION_ERROR",
	429: "TOO_MANY_REQUESTS",
	503: "SERVICE_UNAVAILABLE",
};

/**
 * Errors that say "the node or service meant to answer is gone", not "the request is wrong":
 * no endpoint for the action (Moleculer calls these 404), an endpoint that vanished while the
 * call was pending (its node died, or stopped), the gateway's own "no endpoint" and a broker
 * cut off from the transport. They last until a replica or the restarted node is back.
 */
const UNAVAILABLE_ERROR_NAMES = new Set([
	"ServiceNotFoundError",
	"ServiceNotAvailableError",
	"ServiceUnavailableError",
	"RequestRejectedError",
	"BrokerDisconnectedError",
]);

export function isUnavailableError(err: unknown): boolean {
	const name = (err as { name?: unknown } | null)?.name;
	return typeof name === "string" && UNAVAILABLE_ERROR_NAMES.has(name);
}

export const UNAVAILABLE: PublicError = {
	code: 503,
	type: "SERVICE_UNAVAILABLE",
	message: "a service needed for this request is not available: retry shortly",
};

/** Turns any error into the public shape; internals (stacks, node ids) never leave. */
export function publicError(err: unknown): PublicError {
	const e = (err ?? {}) as {
		code?: unknown;
		status?: unknown;
		type?: unknown;
		message?: string;
		data?: unknown;
		name?: string;
	};
	if (isUnavailableError(err)) return { ...UNAVAILABLE };
	const rawCode = typeof e.code === "number" ? e.code : typeof e.status === "number" ? e.status : 500;
	const code = rawCode >= 400 && rawCode < 600 ? rawCode : 500;
	if (e.name === "ValidationError" && Array.isArray(e.data)) {
		const errors = (e.data as Array<{ field?: string; message?: string; actual?: unknown }>).map((d) => ({
			field: d.field,
			message: d.message,
		}));
		return {
			code: 422,
			type: "VALIDATION_ERROR",
			message: errors.map((x) => x.message).join("; "),
			data: { errors },
		};
	}
	if (e.type === "entity.too.large")
		return { code: 413, type: "PAYLOAD_TOO_LARGE", message: "request body too large" };
	if (e.type === "entity.parse.failed")
		return { code: 400, type: "INVALID_JSON", message: "request body is not valid JSON" };
	if (code >= 500) {
		if (e.name === "RequestTimeoutError")
			return { code: 504, type: "TIMEOUT", message: "the request timed out" };
		if (code === 503) return { ...UNAVAILABLE };
		return { code: 500, type: "INTERNAL_ERROR", message: "internal server error" };
	}
	const type =
		typeof e.type === "string" && /^[A-Z_]+$/.test(e.type) ? e.type : (ERROR_TYPES_BY_CODE[code] ?? "ERROR");
	return { code, type, message: e.message ?? type, ...(e.data !== undefined ? { data: e.data } : {}) };
}
