// Whether an error means the store server cannot be reached right now (restarting, a network
// cut), as opposed to a refused operation: the first is a 503 the caller retries, never a 500.

/** The MongoDB driver's errors for a server it cannot reach or lost mid-operation. */
const UNREACHABLE_NAMES = new Set([
	"MongoNetworkError",
	"MongoNetworkTimeoutError",
	"MongoServerSelectionError",
	"MongoNotConnectedError",
	"MongoTopologyClosedError",
	"MongoPoolClearedError",
	"MongoServerClosedError",
]);

const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH"]);

export function isStoreUnavailable(err: unknown): boolean {
	// The cause chain: drivers wrap the socket's error.
	for (let e = err, depth = 0; e && typeof e === "object" && depth < 5; depth++) {
		const { name, code } = e as { name?: unknown; code?: unknown };
		if (typeof name === "string" && UNREACHABLE_NAMES.has(name)) return true;
		if (
			typeof code === "string" &&
			UNREACHABLE_CODES.has(code) &&
			typeof name === "string" &&
			name.startsWith("Mongo")
		)
			return true;
		e = (e as { cause?: unknown }).cause;
	}
	return false;
}
