// Broker options that depend on the node's shape, and the permission middleware's parameter
// checks, compiled on an action's first call rather than at start.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ServiceBroker } from "moleculer";
import { loadConfig } from "../../config/index.ts";
import { PermissionMiddleware } from "../../mixins/permission.middleware.ts";
import { brokerOptions } from "../../moleculer.config.ts";

describe("broker options", () => {
	test("a node without a transporter stops without a stop delay; a cluster node keeps one", () => {
		const alone = brokerOptions(loadConfig({}));
		assert.equal(alone.transporter, undefined);
		assert.equal(alone.registry?.stopDelay, 0);
		const clustered = brokerOptions(loadConfig({ NATS_URL: "nats://127.0.0.1:4222" }));
		assert.ok((clustered.registry?.stopDelay ?? 0) > 0, "the other nodes must hear of the stop first");
	});
});

describe("permission middleware: parameters", () => {
	test("checked on every call, the first included, although compiled lazily", async () => {
		const broker = new ServiceBroker({
			logger: false,
			validator: false,
			middlewares: [PermissionMiddleware()],
		});
		let received = 0;
		broker.createService({
			name: "sample",
			actions: {
				echo: {
					params: { n: { type: "number" } },
					handler(ctx: { params: { n: number } }) {
						received++;
						return ctx.params.n;
					},
				},
			},
			events: {
				tick: {
					params: { n: { type: "number" } },
					handler() {
						received += 100;
					},
				},
			},
		});
		await broker.start();
		try {
			await assert.rejects(broker.call("sample.echo", { n: "one" }), { type: "VALIDATION_ERROR" });
			assert.equal(received, 0);
			assert.equal(await broker.call("sample.echo", { n: 1 }), 1);
			await assert.rejects(broker.call("sample.echo", {}), { type: "VALIDATION_ERROR" });
			assert.equal(received, 1);
			broker.emit("tick", { n: "bad" });
			broker.emit("tick", { n: 2 });
			await new Promise((r) => setTimeout(r, 20));
			assert.equal(received, 101, "the bad event is dropped, the good one handled");
		} finally {
			await broker.stop();
		}
	});
});
