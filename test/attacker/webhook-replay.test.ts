// Attack: replay one signed webhook body to start runs at will. The signature covers the body
// only; the delivery id is a header anyone can change. Sent again under new X-GitHub-Delivery
// ids, without one, or in the Gitea/Forgejo header form (a plain git repository accepts those
// formats too), the same body must be one event and one run. A real redelivery (same id, same
// body) still answers "duplicate". Identical deliveries racing give one event.

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { type AsCodeRepo, linkAsCodeRepo } from "../helpers/ascode-repo.ts";
import { ALLOW_LOCAL_REPOSITORIES, startTestServer, type TestServer } from "../helpers/server.ts";

const hmac = (secret: string, body: string) => createHmac("sha256", secret).update(body).digest("hex");

function pushBody(branch: string, commit: string) {
	return JSON.stringify({
		ref: `refs/heads/${branch}`,
		before: "1".repeat(40),
		after: commit,
		head_commit: { id: commit, message: "replayed", author: { name: "Eve", email: "eve@example.com" } },
		repository: { full_name: "org/app" },
	});
}

async function waitFor<T>(what: string, probe: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const v = await probe();
		if (v) return v;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

describe("attack: replaying a signed webhook body under other delivery ids", () => {
	let srv: TestServer;
	let repo: AsCodeRepo;

	const send = async (body: string, headers: Record<string, string>) => {
		const res = await fetch(`${srv.url}/api/v1/hooks/repository/${repo.webhook.uuid}`, {
			method: "POST",
			headers: { "content-type": "application/json", ...headers },
			body,
		});
		return { status: res.status, body: (await res.json()) as Record<string, unknown> };
	};
	const github = (body: string, delivery?: string) => ({
		"x-github-event": "push",
		"x-hub-signature-256": `sha256=${hmac(repo.webhook.secret, body)}`,
		...(delivery ? { "x-github-delivery": delivery } : {}),
	});
	const runsOf = async (branch: string) => {
		const c = await srv.server.store.collection<{ _id: string; branch: string }>({ name: "runs" });
		return c.find({ project: "EVE", branch });
	};

	before(async () => {
		srv = await startTestServer({
			...ALLOW_LOCAL_REPOSITORIES,
			SERVICES: "api,auth,project,workflow,repository,run,hook",
			CDS_HOOKS_PROCESS_INTERVAL_MS: "50",
		});
		// A plain git repository: it accepts the GitHub, Gitea, Forgejo and Bitbucket forms.
		repo = await linkAsCodeRepo({
			apiUrl: srv.url,
			token: srv.adminToken,
			key: "EVE",
			broker: srv.server.broker,
			pollSeconds: 86_400,
		});
	});
	after(async () => {
		await srv?.stop();
		repo?.remove();
	});

	test("one signed body sent under 3 delivery ids, none, and in Gitea and Forgejo form → one event, one run", async () => {
		const body = pushBody("replayed", repo.head);
		const first = await send(body, github(body, "delivery-a"));
		assert.equal(first.status, 202, JSON.stringify(first.body));
		const replays = [
			await send(body, github(body, "delivery-b")),
			await send(body, github(body, "delivery-c")),
			await send(body, github(body)),
			await send(body, {
				"x-gitea-event": "push",
				"x-gitea-delivery": "gitea-1",
				"x-gitea-signature": hmac(repo.webhook.secret, body),
			}),
			await send(body, {
				"x-forgejo-event": "push",
				"x-forgejo-delivery": "forgejo-1",
				"x-forgejo-signature": hmac(repo.webhook.secret, body),
			}),
		];
		for (const r of replays) {
			assert.equal(r.status, 200, JSON.stringify(r.body));
			assert.equal(r.body.duplicate, true);
			assert.equal(r.body.event, first.body.event);
		}
		// A real redelivery (same id, same body) is still a duplicate.
		const redelivery = await send(body, github(body, "delivery-a"));
		assert.equal(redelivery.status, 200);
		assert.equal(redelivery.body.duplicate, true);

		await waitFor("the run", async () => (await runsOf("replayed")).length >= 1);
		await waitFor("the event to be processed", async () => {
			const e = (await srv.server.broker.call("hook.getEvent", { id: first.body.event })) as any;
			return e?.state === "done";
		});
		assert.equal((await runsOf("replayed")).length, 1, "one run for one signed body");

		// Control: another body is another event (the receiver is not refusing everything).
		const other = pushBody("other", repo.head);
		assert.equal((await send(other, github(other, "delivery-a"))).status, 202);
		await waitFor("the other run", async () => (await runsOf("other")).length === 1);
	});

	test("the same body racing under 8 delivery ids → exactly one 202 and one run", async () => {
		const body = pushBody("raced", repo.head);
		const answers = await Promise.all(
			Array.from({ length: 8 }, (_, i) => send(body, github(body, `race-${i}`))),
		);
		assert.equal(answers.filter((a) => a.status === 202).length, 1, JSON.stringify(answers));
		assert.equal(answers.filter((a) => a.status === 200 && a.body.duplicate === true).length, 7);
		const id = answers.find((a) => a.status === 202)!.body.event;
		await waitFor("the raced event to be processed", async () => {
			const e = (await srv.server.broker.call("hook.getEvent", { id })) as any;
			return e?.state === "done";
		});
		assert.equal((await runsOf("raced")).length, 1);
	});
});
