// The poller's first look at a repository compares with the refs recorded when it was linked:
// a commit pushed between `cds push` and the first poll starts a run (before, the first poll only
// recorded where the repository stood, and that commit started none). Without them (a link made
// before this, or a remote unreadable at link time) the first poll is a baseline, as before.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { SourceEvent, SourcePorts } from "../../src/hooks/source.ts";
import { pollerContext } from "../helpers/poller-context.ts";
import type { RepositoryDoc } from "../../src/hooks/source.ts";
import { PollerSource } from "../../src/hooks/sources/poller.ts";
import { type RefMap, refEntries } from "../../src/hooks/refs.ts";

const A = "a".repeat(40);
const B = "b".repeat(40);
const repo = { id: "P/r", project: "P", repo: "org/app", url: "/srv/app.git" } as unknown as RepositoryDoc;

const branches = (e: SourceEvent) =>
	e.intents.map((i) => {
		const vars = (i as { vars: Record<string, string> }).vars;
		return `${vars["git.branch"]}@${vars["git.hash"]?.slice(0, 1)}`;
	});

describe("the poller's first poll", () => {
	test("a branch pushed after the link, before the first poll, is a change", async () => {
		const poller = new PollerSource({ lsRemote: async () => ({ "refs/heads/master": A }) });
		const asked: string[] = [];
		const { ctx, emitted } = pollerContext({
			refsAtLink: async (id) => {
				asked.push(id);
				return { refs: [] };
			},
		});
		await poller.poll(ctx, repo);
		assert.deepEqual(asked, ["P/r"]);
		assert.equal(emitted.length, 1);
		assert.deepEqual(branches(emitted[0]!), ["master@a"]);
	});

	test("a commit on a branch that existed at the link is a change; an unchanged branch is not", async () => {
		const now: RefMap = { "refs/heads/master": B, "refs/heads/old": A };
		const poller = new PollerSource({ lsRemote: async () => now });
		const { ctx, emitted } = pollerContext({
			refsAtLink: async () => ({ refs: refEntries({ "refs/heads/master": A, "refs/heads/old": A }) }),
		});
		await poller.poll(ctx, repo);
		assert.deepEqual(branches(emitted[0]!), ["master@b"]);
	});

	test("the link's refs serve once: later polls compare with the previous poll", async () => {
		const views: RefMap[] = [{ "refs/heads/master": A }, { "refs/heads/master": A }];
		const poller = new PollerSource({ lsRemote: async () => views.shift()! });
		let asked = 0;
		const { ctx, emitted } = pollerContext({
			refsAtLink: async () => {
				asked++;
				return { refs: [] };
			},
		});
		await poller.poll(ctx, repo);
		await poller.poll(ctx, repo);
		assert.equal(asked, 1);
		assert.equal(emitted.length, 1, "the second poll sees nothing new");
	});

	test("without refs at link the first poll only records where the repository stands", async () => {
		for (const ports of [{}, { refsAtLink: async () => null }] as Array<Partial<SourcePorts>>) {
			const poller = new PollerSource({ lsRemote: async () => ({ "refs/heads/master": A }) });
			const { ctx, emitted, state } = pollerContext(ports);
			await poller.poll(ctx, repo);
			assert.equal(emitted.length, 0);
			assert.deepEqual(state.get("P/r"), {
				refs: [{ ref: "refs/heads/master", commit: A }],
				at: (state.get("P/r") as { at: number }).at,
			});
		}
	});
});
