// The repository poller as a hook source: for each repository with a poll interval, at each
// interval tick exactly one replica (a `once` claim on repository@tick) runs `git ls-remote` and
// compares with the refs stored at the previous poll. The first poll compares with the refs
// the repository service recorded when the repository was linked (so a commit pushed right
// after `cds push` starts a run), or, without them, records where the repository stands and
// emits nothing. An event is keyed by the (before, after) transition, so
// two replicas or a retry after a crash never emit one transition twice.

import { createHash } from "node:crypto";
import { intentOfChange } from "../events.ts";
import { commitVars, type HookChange } from "../payload.ts";
import { diffRefs, lsRemote, type RefMap, refEntries } from "../refs.ts";
import { EmitTally, type HookSource, type HookSourceContext, type RepositoryDoc } from "../source.ts";

export interface PollerSettings {
	/** How often the poller looks for repositories due (ms). */
	loopMs: number;
}

/**
 * What is kept per repository. Refs are `{ref, commit}` objects, not `[ref, commit]` pairs:
 * FerretDB refuses nested arrays, and ref names hold dots and slashes, so they are values, not keys.
 */
export interface PolledRefs {
	refs: Array<{ ref: string; commit: string }>;
	at: number;
}

/**
 * Adds git.author, git.author.email and git.message to the changes that have a commit: `git
 * ls-remote` only gives commits, and without them `{{.git.message}}` stayed literal in runs
 * started by a poll. Best effort: a commit that cannot be read leaves its change as it is.
 */
async function addCommitInfo(
	ctx: HookSourceContext<PollerSettings>,
	repositoryId: string,
	changes: HookChange[],
): Promise<void> {
	const lookup = ctx.ports.commitInfo;
	if (!lookup) return;
	for (const change of changes) {
		if (!change.commit) continue;
		try {
			const info = await lookup(repositoryId, change.commit, change.branch);
			Object.assign(change.vars, commitVars(info));
		} catch (e) {
			ctx.logger.warn(
				`poll ${repositoryId}: no author or message for ${change.commit}: ${(e as Error).message}`,
			);
		}
	}
}

const digest = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 24);

export class PollerSource implements HookSource<PollerSettings> {
	readonly name = "poller";
	readonly idPrefix = "poll";
	readonly settingsSchema = { loopMs: { type: "number", integer: true, min: 10 } } as const;
	#ctx: HookSourceContext<PollerSettings> | null = null;
	#polledTicks = new Map<string, number>();
	#tally = new EmitTally();
	#lsRemote: (url: string) => Promise<RefMap>;

	constructor(options: { lsRemote?: (url: string) => Promise<RefMap> } = {}) {
		this.#lsRemote = options.lsRemote ?? ((url) => lsRemote(url));
	}

	async start(ctx: HookSourceContext<PollerSettings>): Promise<void> {
		this.#ctx = ctx;
		ctx.every(ctx.settings.loopMs, () => this.pollDue());
	}

	async stop(): Promise<void> {
		this.#ctx = null;
	}

	health() {
		return this.#tally.health(this.#ctx !== null && this.#tally.lastError === null);
	}

	/** One pass: polls the repositories whose interval tick this replica won; returns how many. */
	async pollDue(): Promise<number> {
		const ctx = this.#ctx;
		if (!ctx) return 0;
		// Nothing to poll on a cluster without the repository service (yet).
		const repos = await ctx.ports.pollableRepositories();
		if (!repos) return 0;
		const now = ctx.now();
		let polled = 0;
		for (const repo of repos) {
			if (!repo?.poll || !(repo.poll.intervalSeconds > 0)) continue;
			const tick = Math.floor(now / (repo.poll.intervalSeconds * 1000));
			if (this.#polledTicks.get(repo.id) === tick) continue;
			this.#polledTicks.set(repo.id, tick);
			// One replica per repository and tick.
			if (!(await ctx.once(`${repo.id}@${tick}`))) continue;
			try {
				await this.poll(ctx, repo);
				polled++;
				this.#tally.lastError = null;
			} catch (e) {
				this.#tally.lastError = `poll ${repo.id}: ${(e as Error).message}`;
				ctx.logger.warn(this.#tally.lastError);
			}
		}
		return polled;
	}

	async poll(ctx: HookSourceContext<PollerSettings>, repo: RepositoryDoc): Promise<void> {
		const refs = await this.#lsRemote(repo.url);
		const current = refEntries(refs);
		const previous =
			(await ctx.state.get<PolledRefs>(repo.id)) ?? (await ctx.ports.refsAtLink?.(repo.id)) ?? null;
		if (previous) {
			const before: RefMap = Object.fromEntries(previous.refs.map((r) => [r.ref, r.commit]));
			const changes = diffRefs(before, refs, repo.repo);
			await addCommitInfo(ctx, repo.id, changes);
			if (changes.length > 0) {
				// Named after the transition: a replica or a retry that sees the same one inserts nothing new.
				const transition = digest(JSON.stringify([previous.refs, current]));
				const result = await ctx.emit(
					{
						project: repo.project,
						repository: { id: repo.id, name: repo.repo },
						origin: { provider: "git", event: "poll" },
						intents: changes.map((c) => intentOfChange(c, repo.id)),
					},
					`${repo.id}:${transition}`,
				);
				this.#tally.record(result, ctx.now());
			}
		}
		// A first poll without the refs at link only records where the repository stands. Written after the emit: a crash
		// in between polls the same transition again, and its key makes it a duplicate.
		await ctx.state.set(repo.id, { refs: current, at: Date.now() } satisfies PolledRefs);
	}
}
