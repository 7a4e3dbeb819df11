// The webhook source keys an event on the repository and the signed body, not on the delivery
// id (a header outside the signature): replays under other ids, without one or in another
// provider's form are duplicates, a real redelivery too, and identical deliveries racing on one
// store give exactly one stored event (the intake's unique insert decides).

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { HookIntake, sourceContext } from "../../src/hooks/intake.ts";
import type { RepositoryDoc } from "../../src/hooks/source.ts";
import { WebhookSource, webhookEventKey } from "../../src/hooks/sources/webhook.ts";
import { EmbeddedStore } from "../../src/store/index.ts";
import type { Store } from "../../src/store/types.ts";
import { tempDataDir } from "../helpers/store-temp-dir.ts";

const SECRET = "s3cret";
const repo: RepositoryDoc = {
	id: "repo-1",
	project: "DEMO",
	manager: "git",
	managerName: "plain",
	url: "https://git.example/org/app.git",
	repo: "org/app",
	defaultBranch: "master",
	cdsDir: ".cds",
	webhook: { uuid: "hook-uuid", secret: SECRET },
	poll: null,
	application: null,
};
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const hmac = (body: string) => createHmac("sha256", SECRET).update(body).digest("hex");
const body = JSON.stringify({
	ref: "refs/heads/main",
	before: "1".repeat(40),
	after: "a".repeat(40),
	repository: { full_name: "org/app" },
});
const deliver = (source: WebhookSource, headers: Record<string, string>, text = body) =>
	source.receive({
		uuid: "hook-uuid",
		headers: { "content-type": "application/json", ...headers },
		body: Buffer.from(text).toString("base64"),
	});
const github = (delivery?: string, text = body) => ({
	"x-github-event": "push",
	"x-hub-signature-256": `sha256=${hmac(text)}`,
	...(delivery ? { "x-github-delivery": delivery } : {}),
});

describe("webhook source: one signed body, one event", () => {
	let store: Store;
	let data: Awaited<ReturnType<typeof tempDataDir>>;
	let intake: HookIntake;

	before(async () => {
		data = await tempDataDir("cds-webhook-replay-");
		store = await EmbeddedStore.open(data.dir);
		intake = await HookIntake.open(store);
	});
	after(async () => {
		await store.close();
		await data.remove();
	});

	const started = async () => {
		const source = new WebhookSource();
		await source.start(
			sourceContext({
				intake,
				source,
				settings: { repositoryCacheMs: 0 },
				ports: {
					repositoryByHookUuid: async (uuid) => (uuid === "hook-uuid" ? repo : null),
					pollableRepositories: async () => [],
					schedules: async () => [],
				},
				logger: silent,
				owner: "test",
			}),
		);
		return source;
	};

	test("other delivery ids, none, Gitea and Forgejo forms → duplicate; the event keeps the first id", async () => {
		const source = await started();
		const first = await deliver(source, github("d-1"));
		assert.equal(first.status, 202);
		assert.equal(first.body.event, `wh:${webhookEventKey("repo-1", Buffer.from(body))}`);
		const replays: Array<Record<string, string>> = [
			github("d-2"),
			github(),
			github("d-1"),
			{ "x-gitea-event": "push", "x-gitea-delivery": "g-1", "x-gitea-signature": hmac(body) },
			{ "x-forgejo-event": "push", "x-forgejo-delivery": "f-1", "x-forgejo-signature": hmac(body) },
		];
		for (const headers of replays) {
			const again = await deliver(source, headers);
			assert.deepEqual(again, { status: 200, body: { duplicate: true, event: first.body.event } });
		}
		const stored = await intake.events(String(first.body.event)).findOne({ _id: String(first.body.event) });
		assert.equal(stored?.origin.deliveryId, "d-1");
		assert.equal(source.health().emitted, 1);
		// Another body is another event.
		const other = body.replace("main", "dev");
		assert.equal((await deliver(source, github("d-1", other), other)).status, 202);
	});

	test("identical deliveries racing under different ids, on two sources sharing the store → one 202", async () => {
		const [a, b] = [await started(), await started()];
		const raced = body.replace("main", "raced");
		const answers = await Promise.all(
			Array.from({ length: 10 }, (_, i) => deliver(i % 2 ? a : b, github(`r-${i}`, raced), raced)),
		);
		assert.equal(answers.filter((r) => r.status === 202).length, 1);
		assert.equal(answers.filter((r) => r.status === 200 && r.body.duplicate === true).length, 9);
	});
});
