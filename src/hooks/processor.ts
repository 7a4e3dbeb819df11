// The hook processor: takes stored events from the queue, one replica per event (a store claim
// with expiry), and does what each one asks — its intents — whatever source emitted it. A
// failure leaves the event pending and retries it with backoff; steps already done are recorded
// with each attempt, so a retry never creates a run twice. An event that cannot succeed (a
// permanent failure: the workflow is gone, the payload is refused) or has failed
// CDS_HOOKS_DEAD_LETTER_ATTEMPTS times becomes a dead letter: out of the queue, kept (never purged
// by retention) until an operator replays it — its done steps still count — or deletes it.

import { createHash } from "node:crypto";
import type { HookSettings } from "../../config/hooks.ts";
import { DuplicateKeyError } from "../store/types.ts";
import { type HookEventDoc, type HookIntent, intentsOf, messagesOf, type HookMessage } from "./events.ts";
import type { HookIntake } from "./intake.ts";
import type { SourceLogger } from "./source.ts";

/** The calls the processor makes to other services (and to NATS), behind a port. */
export interface ProcessorPorts {
	syncBranch(p: { repositoryId: string; branch: string; commit: string }): Promise<{ workflows?: string[] }>;
	deleteBranch(p: { repositoryId: string; branch: string }): Promise<unknown>;
	createRun(p: {
		key: string;
		name: string;
		branch?: string;
		commit?: string;
		payload?: unknown;
		params: Record<string, string>;
		/** The event's step: a creation asked again (the event replayed) answers the same run. */
		requestId?: string;
	}): Promise<{ number?: number } | null>;
	/** Best effort: a commit status of a run just created. */
	reportPending(p: {
		repositoryId: string;
		commit: string;
		project: string;
		workflow: string;
		run?: number;
	}): void;
	publish(messages: HookMessage[]): Promise<void>;
}

/**
 * Thrown between steps when half the event's lease is gone: the attempt stops where it is (its
 * progress kept) and the event is taken again at once, by this replica or another. So no step
 * starts after its lease could have passed to another replica — a step's call is bounded by the
 * request timeout, which must stay under half the lease (defaults: 30 s and 60 s).
 */
class LeaseEnding extends Error {
	constructor() {
		super("half the lease is gone: the event is taken again from where it stopped");
		this.name = "LeaseEnding";
	}
}

/** How long a pushed commit's run keeps others of the same commit, branch and workflow away. */
const PUSH_RUN_DEDUP_MS = 7 * 24 * 3600_000;

const digest = (s: string, length = 24) => createHash("sha256").update(s).digest("hex").slice(0, length);

type ProcessorSettings = Pick<
	HookSettings,
	"leaseMs" | "retryBaseMs" | "retryMaxMs" | "intakeQuietMs" | "intakeDeferMs" | "eventRetentionMs"
> &
	Partial<Pick<HookSettings, "deadLetterAttempts">>;

/**
 * Answers that every retry would get again: the request itself is wrong (400, 413, 422 — a
 * payload refused), or what it names does not exist (404, 410 — the workflow or the project is
 * gone). Never the broker's own 404s (no node serves the action yet) nor anything marked
 * retryable, a timeout, a conflict (409) or a 5xx: those may pass.
 */
export function isPermanentFailure(e: unknown): boolean {
	const err = e as { code?: unknown; type?: unknown; retryable?: unknown } | null;
	if (!err || typeof err !== "object" || err.retryable === true) return false;
	if (err.type === "SERVICE_NOT_FOUND" || err.type === "SERVICE_NOT_AVAILABLE") return false;
	return typeof err.code === "number" && PERMANENT_CODES.has(err.code);
}

const PERMANENT_CODES = new Set([400, 404, 410, 413, 422]);

/** Failed attempts before an event becomes a dead letter, unless configured. */
export const DEFAULT_DEAD_LETTER_ATTEMPTS = 10;

export class HookProcessor {
	#intake: HookIntake;
	#ports: ProcessorPorts;
	#settings: ProcessorSettings;
	#owner: string;
	#logger: SourceLogger;
	#onDeadLetter: (event: HookEventDoc, reason: "permanent" | "attempts") => void;
	#pass: Promise<number> | null = null;
	#again = false;
	#urgent = false;
	#kickTimer: NodeJS.Timeout | null = null;
	#lastPurgeAt = 0;
	stopping = false;
	/** When the last webhook delivery came in: while they keep coming, intake goes first. */
	lastDeliveryAt = 0;
	/**
	 * Whether this node's event loop was busy over half of the last 50 ms. Only then do the
	 * receiver and the processor compete for the CPU; processing that waits on other services
	 * (git, the run service on other nodes) keeps its full concurrency whatever the intake.
	 */
	loopSaturated = false;

	constructor(opts: {
		intake: HookIntake;
		ports: ProcessorPorts;
		settings: ProcessorSettings;
		owner: string;
		logger: SourceLogger;
		/** Told of each event this processor makes a dead letter of (metrics). */
		onDeadLetter?: (event: HookEventDoc, reason: "permanent" | "attempts") => void;
	}) {
		this.#onDeadLetter = opts.onDeadLetter ?? (() => {});
		this.#intake = opts.intake;
		this.#ports = opts.ports;
		this.#settings = opts.settings;
		this.#owner = opts.owner;
		this.#logger = opts.logger;
	}

	/** The pass in flight, if any (stopping waits for it). */
	get pass(): Promise<number> | null {
		return this.#pass;
	}

	intakeBusy(): boolean {
		return this.loopSaturated && Date.now() - this.lastDeliveryAt < this.#settings.intakeQuietMs;
	}

	/** Runs a pass soon on this node (the processor also runs on its interval everywhere). */
	kick(): void {
		if (this.stopping) return;
		if (this.intakeBusy()) {
			// Deliveries keep coming: look again once they pause (the event is stored, nothing waits).
			this.#kickTimer ??= setTimeout(() => {
				this.#kickTimer = null;
				this.kick();
			}, this.#settings.intakeQuietMs);
			return;
		}
		if (this.#pass) {
			this.#again = true;
			return;
		}
		setImmediate(() => {
			void this.processDue().catch((e: Error) => this.#logger.warn(`hook processor: ${e.message}`));
		});
	}

	/** One pass (repeated while new work arrives); a call during a pass waits for it. */
	processDue(urgent = false): Promise<number> {
		if (urgent) this.#urgent = true;
		if (this.#pass) {
			this.#again = true;
			return this.#pass;
		}
		const pass = async () => {
			let done = 0;
			do {
				this.#again = false;
				// Intake first (see intakeBusy): while deliveries keep coming to a saturated node, a
				// delivery's 202 waits on this CPU and a stored event waits on nothing, so only events
				// deferred longer than intakeDeferMs are taken, one at a time. A burst is absorbed at the
				// receiver's rate, then drained; a sustained flood still moves and never starves the backlog.
				const urgent = this.#urgent;
				this.#urgent = false;
				const intake = !urgent && this.intakeBusy();
				const cutoff = Date.now() - (intake ? this.#settings.intakeDeferMs : 0);
				// Queue entries are written in batches after each answer: let those already on their way land.
				await this.#intake.queued();
				const perShard = await Promise.all(
					this.#intake
						.queueShards()
						.map((q) => q.find({ dueAt: { $lte: cutoff } }, { sort: { dueAt: 1 }, limit: 50 })),
				);
				const due = perShard.flat().sort((a, b) => a.dueAt - b.dueAt);
				// A few at a time: each one waits on other services, not on this process. When
				// deliveries start coming in mid-pass, the extra workers stop and the last one goes on
				// with the deferred events only; the rest is left for a later pass.
				const workers = Array.from({ length: Math.min(intake ? 1 : 16, due.length) }, async (_, w) => {
					while (due.length > 0 && !this.stopping) {
						if (!urgent && this.intakeBusy()) {
							const deferredBefore = Date.now() - this.#settings.intakeDeferMs;
							if (w > 0 || due[0]!.dueAt > deferredBefore) {
								this.#again = true;
								return;
							}
						}
						await this.processEvent(due.shift()!._id);
						done++;
					}
				});
				await Promise.all(workers);
				if (perShard.some((d) => d.length === 50)) this.#again = true;
			} while (this.#again && !this.stopping);
			return done;
		};
		this.#pass = pass().finally(() => {
			this.#pass = null;
		});
		return this.#pass;
	}

	async processEvent(id: string): Promise<void> {
		const store = this.#intake.store;
		// Counted from before the claim: its expiry is at least this late.
		const leaseEndsAt = Date.now() + this.#settings.leaseMs / 2;
		const claim = await store.claim("hook-event", id, this.#owner, { ttlMs: this.#settings.leaseMs });
		if (!claim.won) return;
		// A finished event keeps its claim until the lease ends (then the retention purge forgets it):
		// nothing claims a done event whose queue entry is gone, and a release costs two more store
		// operations per event (the slowest ones on FerretDB). Any other outcome releases it.
		let finished = false;
		try {
			const event = await this.#intake.events(id).findOne({ _id: id });
			if (event?.state !== "pending") {
				await this.#intake.queue(id).remove({ _id: id });
				finished = true;
				return;
			}
			try {
				await this.applyEvent(event, leaseEndsAt);
			} catch (e) {
				if (e instanceof LeaseEnding) {
					await this.#intake.events(id).update({ _id: id }, { $set: { progress: event.progress } });
					await this.#intake.queue(id).update({ _id: id }, { $set: { dueAt: Date.now() } });
					this.#logger.info(`hook event ${id}: ${e.message}`);
					return;
				}
				const attempts = event.attempts + 1;
				const message = (e as Error).message;
				const permanent = isPermanentFailure(e);
				if (permanent || attempts >= (this.#settings.deadLetterAttempts ?? DEFAULT_DEAD_LETTER_ATTEMPTS)) {
					await this.#intake.events(id).update(
						{ _id: id },
						{
							$set: {
								state: "dead",
								attempts,
								lastError: message,
								progress: event.progress,
								deadAt: Date.now(),
								deadReason: permanent ? "permanent" : "attempts",
							},
						},
					);
					await this.#intake.queue(id).remove({ _id: id });
					this.#onDeadLetter(event, permanent ? "permanent" : "attempts");
					this.#logger.warn(
						`hook event ${id}: ${permanent ? "failed for good" : `attempt ${attempts} failed`} (${message}); now a dead letter`,
					);
					return;
				}
				const delay = Math.min(
					this.#settings.retryMaxMs,
					this.#settings.retryBaseMs * 2 ** Math.min(attempts - 1, 20),
				);
				await this.#intake
					.events(id)
					.update({ _id: id }, { $set: { attempts, lastError: message, progress: event.progress } });
				await this.#intake.queue(id).update({ _id: id }, { $set: { dueAt: Date.now() + delay, attempts } });
				this.#logger.warn(`hook event ${id}: attempt ${attempts} failed (${message}); retry in ${delay} ms`);
				return;
			}
			await this.#intake
				.events(id)
				.update({ _id: id }, { $set: { state: "done", doneAt: Date.now(), progress: event.progress } });
			await this.#intake.queue(id).remove({ _id: id });
			finished = true;
		} finally {
			if (!finished) await store.release("hook-event", id, this.#owner).catch(() => {});
		}
	}

	/** Does what the event asks, skipping the steps recorded as done by an earlier attempt. */
	async applyEvent(event: HookEventDoc, leaseEndsAt = Number.POSITIVE_INFINITY): Promise<void> {
		const inLease = () => {
			if (Date.now() > leaseEndsAt) throw new LeaseEnding();
		};
		// Steps done are recorded in memory and written with the outcome (done, or the failure that
		// stops the attempt), so a retry skips them; one write per attempt instead of one per step.
		const progress = event.progress;
		let publishError: Error | null = null;
		if (!progress.published) {
			try {
				await this.#ports.publish(messagesOf(event));
				progress.published = true;
			} catch (e) {
				// Runs do not wait for NATS; the publication is retried with the event.
				publishError = e as Error;
			}
		}
		for (const [i, intent] of intentsOf(event).entries()) {
			const step = `c${i}`;
			if (progress[step]) continue;
			inLease();
			progress[step] = (await this.#apply(event, intent, step, inLease)) ?? true;
		}
		if (publishError) throw new Error(`publishing on NATS failed: ${publishError.message}`);
	}

	/** One intent: the dispatch is on what it asks, never on the source. */
	async #apply(event: HookEventDoc, intent: HookIntent, step: string, inLease: () => void): Promise<unknown> {
		const progress = event.progress;
		switch (intent.kind) {
			case "define-branch": {
				const synced = await this.#ports.syncBranch({
					repositoryId: intent.repositoryId,
					branch: intent.branch,
					commit: intent.commit,
				});
				if (!intent.run) return true;
				for (const workflow of synced?.workflows ?? []) {
					const runStep = `${step}w${digest(workflow, 16)}`;
					if (progress[runStep]) continue;
					inLease();
					// One run per pushed commit, branch and workflow, whichever source saw the push
					// first: a plain-git repository has a webhook and a poller, and both see each push.
					// The first event claims it (its retries hold it: the owner is the event); the others
					// leave it to that event.
					const pushed = await this.#intake.store.claim(
						"push-run",
						digest(`${intent.repositoryId}\n${intent.branch}\n${intent.commit}\n${workflow}`, 32),
						event._id,
						{ ttlMs: PUSH_RUN_DEDUP_MS },
					);
					if (!pushed.won) {
						progress[runStep] = { workflow, startedBy: pushed.owner };
						continue;
					}
					const run = await this.#ports.createRun({
						key: event.project,
						name: workflow,
						branch: intent.branch,
						commit: intent.commit,
						params: intent.vars,
						requestId: `${event._id}#${runStep}`,
					});
					// The workflow with the number: what `runsOf` shows of the event.
					progress[runStep] = run?.number !== undefined ? { workflow, number: run.number } : true;
					this.#ports.reportPending({
						repositoryId: intent.repositoryId,
						commit: intent.commit,
						project: event.project,
						workflow,
						...(run?.number !== undefined ? { run: run.number } : {}),
					});
				}
				return true;
			}
			case "delete-branch":
				await this.#ports.deleteBranch({ repositoryId: intent.repositoryId, branch: intent.branch });
				return true;
			case "start-run": {
				const run = await this.#ports.createRun({
					key: event.project,
					name: intent.workflow,
					...(intent.branch !== undefined ? { branch: intent.branch } : {}),
					...(intent.commit !== undefined ? { commit: intent.commit } : {}),
					...(intent.payload != null ? { payload: intent.payload } : {}),
					params: intent.vars,
					requestId: `${event._id}#${step}`,
				});
				return run?.number ?? true;
			}
			case "notify":
				// Published (and kept in the store) only.
				return true;
			default:
				throw new Error(`hook event ${event._id}: unknown intent ${(intent as { kind: string }).kind}`);
		}
	}

	/** Purges processed events past retention; re-queues pending events whose queue entry is missing. */
	async sweep(): Promise<void> {
		// Processed events past their retention go (a scan: at most every 10 minutes).
		const now = Date.now();
		if (now - this.#lastPurgeAt >= Math.min(10 * 60_000, this.#settings.eventRetentionMs)) {
			this.#lastPurgeAt = now;
			const before = now - this.#settings.eventRetentionMs;
			const store = this.#intake.store;
			await Promise.all(
				this.#intake.eventShards().map(async (c) => {
					for (;;) {
						const expired = await c.find({ state: "done", doneAt: { $lt: before } }, { limit: 500 });
						// The claim first: nobody claims a done event, and until the event itself goes a
						// redelivery is refused as a duplicate, so no claimer can start on it meanwhile.
						for (const { _id } of expired) {
							await store.forget("hook-event", _id);
							await c.remove({ _id });
						}
						if (expired.length < 500 || this.stopping) break;
					}
				}),
			);
		}
		for (const event of (
			await Promise.all(this.#intake.eventShards().map((c) => c.find({ state: "pending" })))
		).flat()) {
			try {
				await this.#intake
					.queue(event._id)
					.insert({ _id: event._id, dueAt: Date.now(), attempts: event.attempts });
			} catch (e) {
				if (!(e instanceof DuplicateKeyError)) throw e;
			}
		}
	}

	async stop(): Promise<void> {
		this.stopping = true;
		if (this.#kickTimer) clearTimeout(this.#kickTimer);
		await this.#pass?.catch(() => {});
	}
}
