// Which calls may be replayed on another replica when their node dies.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Errors } from "moleculer";
import { isIdempotentAction, isNodeLossError } from "../../src/ops/node-loss.ts";

describe("isIdempotentAction", () => {
	test("a GET route is a read; other methods, or no route, are not", () => {
		assert.equal(isIdempotentAction({ rest: "GET /:key" }), true);
		assert.equal(isIdempotentAction({ rest: { method: "GET", path: "/job" } }), true);
		assert.equal(isIdempotentAction({ rest: "POST /:key/workflows/:name/runs" }), false);
		assert.equal(isIdempotentAction({ rest: { method: "PUT", path: "/cache/:tag/:name" } }), false);
		assert.equal(isIdempotentAction({ rest: "/any-method" }), false);
		assert.equal(isIdempotentAction({}), false, "an internal action says nothing: never replayed");
	});

	test("every route must be a read, and an explicit flag wins", () => {
		assert.equal(isIdempotentAction({ rest: ["GET /a", "POST /a"] }), false);
		assert.equal(isIdempotentAction({ rest: ["GET /a", "HEAD /a"] }), true);
		assert.equal(isIdempotentAction({ idempotent: true }), true);
		assert.equal(isIdempotentAction({ idempotent: false, rest: "GET /a" }), false);
	});
});

describe("isNodeLossError", () => {
	test("a rejected or unroutable call may succeed elsewhere", () => {
		assert.equal(isNodeLossError(new Errors.RequestRejectedError({ action: "a.b", nodeID: "n" })), true);
		assert.equal(isNodeLossError(new Errors.ServiceNotAvailableError({ action: "a.b", nodeID: "n" })), true);
		assert.equal(isNodeLossError(new Errors.ServiceNotFoundError({ action: "a.b" })), true);
	});

	test("a timeout, a client error or a crash is not replayed", () => {
		assert.equal(isNodeLossError(new Errors.RequestTimeoutError({ action: "a.b", nodeID: "n" })), false);
		assert.equal(isNodeLossError(new Errors.MoleculerClientError("no", 404, "NOT_FOUND")), false);
		assert.equal(isNodeLossError(new Error("boom")), false);
		assert.equal(isNodeLossError(undefined), false);
	});
});
