// A store server that cannot be reached is told from a refused operation: the first becomes a
// retryable 503 (mixins/store-errors.middleware.ts), the second keeps its own error.

import assert from "node:assert/strict";
import { test } from "node:test";
import { DuplicateKeyError } from "../../src/store/types.ts";
import { isStoreUnavailable } from "../../src/store/unavailable.ts";

function named(name: string, extra: Record<string, unknown> = {}): Error {
	return Object.assign(new Error("x"), { name }, extra);
}

test("the driver's errors for an unreachable or lost server are unavailability", () => {
	for (const name of [
		"MongoNetworkError",
		"MongoServerSelectionError",
		"MongoNotConnectedError",
		"MongoPoolClearedError",
	])
		assert.equal(isStoreUnavailable(named(name)), true, name);
	// Wrapped: the socket's error as the cause of another.
	assert.equal(
		isStoreUnavailable(new Error("write failed", { cause: named("MongoNetworkTimeoutError") })),
		true,
	);
	assert.equal(isStoreUnavailable(named("MongoError", { code: "ECONNREFUSED" })), true);
});

test("refused operations and other errors are not", () => {
	assert.equal(isStoreUnavailable(new DuplicateKeyError("runs", ["_id"])), false);
	assert.equal(isStoreUnavailable(named("MongoServerError", { code: 2 })), false);
	// A refused connection elsewhere (an outbound call) is not the store's.
	assert.equal(isStoreUnavailable(named("Error", { code: "ECONNREFUSED" })), false);
	assert.equal(isStoreUnavailable(undefined), false);
	assert.equal(isStoreUnavailable("text"), false);
});
