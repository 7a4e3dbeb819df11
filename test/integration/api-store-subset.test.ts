// Input the store cannot keep never becomes a 500: a list in a list is refused with a 422 and
// nothing is stored; unknown keys of an application's repository are dropped (the API fuzzer
// found one there as a 500). Under every action, the store-errors middleware turns what the
// store subset refuses into a 422 and an unreachable store into a retryable 503.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Errors, ServiceBroker } from "moleculer";
import { StoreErrorsMiddleware } from "../../mixins/store-errors.middleware.ts";
import { StoreShapeError } from "../../src/store/subset.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let srv: TestServer;
before(async () => {
	srv = await startTestServer();
	assert.equal((await srv.api("POST", "/api/v1/projects", { key: "SUBSET", name: "subset" })).status, 201);
});
after(async () => srv?.stop());

test("a variable whose value is a list of lists is refused with a 422 and nothing is stored", async () => {
	const r = await srv.api("POST", "/api/v1/projects/SUBSET/applications", {
		name: "nested",
		variables: { v: { type: "string", value: [[1, 2]] } },
	});
	assert.equal(r.status, 422, JSON.stringify(r.body));
	assert.equal(r.body.type, "VALIDATION_ERROR");
	assert.equal((await srv.api("GET", "/api/v1/projects/SUBSET/applications/nested")).status, 404);
});

test("unknown keys of an application's repository are dropped, not stored", async () => {
	const r = await srv.api("POST", "/api/v1/projects/SUBSET/applications", {
		name: "app",
		repository: { vcsServer: "github", repo: "org/app", extra: [[1]] },
	});
	assert.equal(r.status, 201, JSON.stringify(r.body));
	const got = await srv.api("GET", "/api/v1/projects/SUBSET/applications/app");
	assert.deepEqual(got.body.repository, { vcsServer: "github", repo: "org/app" });
});

test("under any action: a shape the store refuses is a 422 naming where, an unreachable store a retryable 503", async () => {
	const broker = new ServiceBroker({ logger: false, middlewares: [StoreErrorsMiddleware()] });
	broker.createService({
		name: "probe",
		actions: {
			shape: () => {
				throw new StoreShapeError("things.insert", "value[0]", "an array inside an array");
			},
			down: () => {
				throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:27017"), {
					name: "MongoServerSelectionError",
				});
			},
			other: () => {
				throw new Error("boom");
			},
		},
	});
	await broker.start();
	try {
		await assert.rejects(broker.call("probe.shape"), (e: Errors.MoleculerError) => {
			assert.equal(e.code, 422);
			assert.equal(e.type, "VALIDATION_ERROR");
			assert.deepEqual(
				(e.data as { errors: { field: string }[] }).errors.map((x) => x.field),
				["value[0]"],
			);
			return true;
		});
		await assert.rejects(broker.call("probe.down"), (e: Errors.MoleculerError) => {
			assert.equal(e.code, 503);
			assert.equal(e.type, "STORE_UNAVAILABLE");
			assert.equal(e.retryable, true);
			return true;
		});
		await assert.rejects(broker.call("probe.other"), /boom/);
	} finally {
		await broker.stop();
	}
});
