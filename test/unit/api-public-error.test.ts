// The gateway's error shape for what Moleculer and moleculer-web throw when a node or a
// service is away: always 503 (the gateway adds Retry-After), never 404 or 500.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Errors } from "moleculer";
import ApiGateway from "moleculer-web";
import { isUnavailableError, publicError } from "../../src/api/public-error.ts";

const { ServiceUnavailableError, NotFoundError } = (ApiGateway as unknown as { Errors: Record<string, any> })
	.Errors;

describe("publicError", () => {
	const unavailable = [
		new Errors.ServiceNotFoundError({ action: "run.list" }),
		new Errors.ServiceNotAvailableError({ action: "worker.heartbeat", nodeID: "run-1" }),
		new Errors.RequestRejectedError({ action: "project.get", nodeID: "pw-1" }),
		new Errors.BrokerDisconnectedError("transporter disconnected"),
		new ServiceUnavailableError(),
	];
	for (const err of unavailable) {
		test(`${err.name} is a 503 that names no node or action`, () => {
			const body = publicError(err);
			assert.equal(body.code, 503);
			assert.equal(body.type, "SERVICE_UNAVAILABLE");
			assert.doesNotMatch(body.message, /run-1|pw-1|run\.list|worker\.heartbeat|project\.get/);
			assert.equal(isUnavailableError(err), true);
		});
	}

	test("client errors keep their code, type and data", () => {
		const err = new Errors.MoleculerClientError("run W #1 not found", 404, "NOT_FOUND", { run: 1 });
		assert.deepEqual(publicError(err), {
			code: 404,
			type: "NOT_FOUND",
			message: "run W #1 not found",
			data: { run: 1 },
		});
		assert.equal(isUnavailableError(err), false);
	});

	test("moleculer-web's unknown route stays a 404", () => {
		assert.deepEqual(publicError(new NotFoundError()), {
			code: 404,
			type: "NOT_FOUND",
			message: "Not found",
		});
	});

	test("a timeout is a 504; anything else a 500 without its message", () => {
		assert.equal(publicError(new Errors.RequestTimeoutError({ action: "a.b", nodeID: "n" })).code, 504);
		assert.deepEqual(publicError(new Error("secret detail at /srv/x")), {
			code: 500,
			type: "INTERNAL_ERROR",
			message: "internal server error",
		});
		assert.equal(
			publicError(new Errors.MoleculerError("db down at 10.0.0.3", 503)).message.includes("10.0"),
			false,
		);
	});
});
