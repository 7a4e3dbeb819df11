// What users do to runs: start one (numbered per workflow), stop it, resume a manual node,
// restart a node as a sub-run. Each change to a run happens under its lease (run-lock.ts).

import type { RunDoc } from "../../schemas/run.ts";
import { DuplicateKeyError } from "../store/types.ts";
import { beginRestart, beginRun, type QueuedJob, resumeManualNode, stopRunProgress } from "./advance.ts";
import { RunConflictError, RunNotFoundError } from "./errors.ts";
import type { CreateRunInput, RunEngine } from "./run-engine.ts";
import { ACTIVE_RUN_STATUSES, runId, subRunId } from "./run-repository.ts";
import { runVariables } from "./run-vars.ts";
import { insertOrKeep } from "./store-writes.ts";

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * A new run: its number is the first free one (a unique insert decides; the counter is only a
 * hint, updated after the fact), then it begins and its first jobs are queued.
 */
export async function createRun(engine: RunEngine, input: CreateRunInput): Promise<RunDoc> {
	const { project, workflow } = input;
	if (input.requestId) {
		const existing = await engine.repo.runs.findOne({
			project,
			workflow,
			requestId: input.requestId,
			sub: 0,
		});
		if (existing) return existing;
	}
	const def = await engine.ports.definition({
		project,
		workflow,
		branch: input.branch,
		version: input.version,
	});
	const counterId = `${project}/${workflow}`;
	// Creations running at once on this node start past each other's numbers: starting from the
	// same hint they would each walk through every number the others hold, one refused insert at
	// a time (25 inserts per run at 40 requests in flight). The unique insert still decides.
	const local = engine.runNumbering.get(counterId) ?? { inFlight: 0, highest: 0 };
	engine.runNumbering.set(counterId, local);
	local.inFlight++;
	let created: RunDoc | undefined;
	let queue: QueuedJob[] = [];
	try {
		// They also share one read of the hint, the first one's: it is only where the search starts
		// (the numbers they took since are in local.highest), and another node's newer runs cost a
		// refused insert, as a stale hint always could. A failed read is not shared with later ones.
		if (!local.hint) {
			const read = engine.repo.counters.findOne({ _id: counterId }).then((h) => h?.last ?? 0);
			local.hint = read;
			read.catch(() => {
				if (local.hint === read) local.hint = undefined;
			});
		}
		const hint = await local.hint;
		let number = Math.max(hint, local.highest) + 1;
		for (let attempt = 0; attempt < 200 && !created; attempt++) {
			local.highest = Math.max(local.highest, number);
			const now = engine.now();
			const vars = runVariables({
				project,
				workflow,
				number,
				branch: input.branch ?? def.branch,
				commit: input.commit,
				payload: input.payload,
				params: input.params,
				triggeredBy: input.triggeredBy,
			});
			const id = runId(project, workflow, number);
			// The run is stored begun: its first jobs are in its progress from the insert on, so
			// nobody else can begin it twice, and a node that dies before queuing them leaves a
			// Building run whose missing jobs the reconciler queues (their ids are deterministic).
			// The number decides the id and the variables, so a refused number begins it again.
			const begun = await beginRun(
				id,
				def.model,
				def.pipelines,
				vars,
				engine.evaluator({ vars, build: {} }),
				now,
			);
			const status = begun.progress.state.status;
			const doc: RunDoc = {
				_id: id,
				project,
				workflow,
				number,
				sub: 0,
				branch: vars["git.branch"] ?? def.branch,
				commit: vars["git.hash"] ?? null,
				definitionId: def.definitionId,
				definitionVersion: def.version,
				repositoryId: def.repositoryId ?? null,
				status,
				progress: begun.progress,
				vars,
				build: {},
				tags: {},
				triggeredBy: input.triggeredBy,
				created: iso(now),
				updated: iso(now),
				ended: ACTIVE_RUN_STATUSES.has(status) ? null : iso(now),
				createdMs: now,
				...(input.requestId ? { requestId: input.requestId } : {}),
			};
			// Listed as active (the reconciler's index) before it exists: a node dying right after the
			// insert leaves a run the reconciler finds; an entry without its run is removed by it.
			if (ACTIVE_RUN_STATUSES.has(status)) await insertOrKeep(engine.repo.activeRuns, { _id: id });
			try {
				// The unique _id makes the number ours: two requests cannot get the same one.
				await engine.repo.runs.insert(doc);
				created = doc;
				queue = begun.queue;
			} catch (e) {
				if (!(e instanceof DuplicateKeyError)) throw e;
				// Taken: try the next one; now and then re-read the hint, other creators moved on.
				number = Math.max(number, local.highest) + 1;
				if (attempt % 4 === 3) {
					const fresh = await engine.repo.counters.findOne({ _id: counterId });
					if (fresh && fresh.last >= number) number = fresh.last + 1;
				}
			}
		}
		if (!created) throw new RunConflictError(`could not allocate a run number for ${workflow}: try again`);
		// Creators of this node finish out of order: only the one holding the highest number it
		// tried moves the hint, never backwards from here. (Another node's creator may: the hint
		// is only where the search starts, and a stale one costs a refused insert or two.)
		if (created.number >= local.highest && hint < created.number) {
			try {
				await engine.repo.counters.replace({ _id: counterId, last: created.number });
			} catch (e) {
				// FerretDB applies an upsert as read-then-insert: two first runs of a workflow created at
				// once both insert the hint and one is refused. The run exists already; failing now
				// would make the caller (a hook event's retry) create it again. A stale hint is harmless.
				if (!(e instanceof DuplicateKeyError)) throw e;
			}
		}
	} finally {
		// The last creation out forgets: a lone creation starts from the stored hint, as always.
		if (--local.inFlight === 0) engine.runNumbering.delete(counterId);
	}
	engine.rememberDefinition(created.definitionId, { model: def.model, pipelines: def.pipelines });
	await engine.enqueue(created, queue);
	engine.rememberRun(created, -1);
	engine.emitRunUpdated(created);
	return created;
}

/** Stops an active run and its live jobs (their workers learn it from their heartbeat). */
export async function stopRun(
	engine: RunEngine,
	found: RunDoc,
	who: string,
): Promise<{ run: RunDoc; stoppedJobs: string[] }> {
	const stoppedJobs: string[] = [];
	const run = await engine.withLock(found._id, async () => {
		const current = (await engine.repo.runs.findOne({ _id: found._id }))!;
		if (!ACTIVE_RUN_STATUSES.has(current.status)) return current;
		const { progress } = stopRunProgress(current.progress, engine.now(), `stopped by ${who}`);
		const live = (await engine.repo.jobsOfRun(current)).filter(
			(j) => j.status === "Waiting" || j.status === "Booked" || j.status === "Building",
		);
		for (const j of live) {
			engine.queueView.remove(j._id);
			await engine.repo.queue.remove({ _id: j._id });
			// The run lock is held here and the stop rewrites the whole progress: don't apply each job.
			await engine.finalizeJob(j, "Stopped", `stopped by ${who}`, [], { apply: false });
			stoppedJobs.push(j._id);
		}
		return engine.saveRun(current, progress);
	});
	return { run, stoppedJobs };
}

/** Starts a node waiting for a manual start. */
export async function resumeNode(
	engine: RunEngine,
	found: RunDoc,
	node: string,
	who: string,
): Promise<RunDoc> {
	return engine.withLock(found._id, async () => {
		const current = (await engine.repo.runs.findOne({ _id: found._id }))!;
		const state = current.progress.state.nodes[node];
		if (!state) throw new RunNotFoundError(`node ${node}`, { node });
		if (state.status !== "Manual")
			throw new RunConflictError(`node ${node} is ${state.status}, not waiting for a manual start`);
		const def = await engine.definition(current);
		const { progress, queue } = await resumeManualNode(
			current._id,
			def.model,
			def.pipelines,
			current.progress,
			node,
			who,
			engine.evaluator(current),
			engine.now(),
		);
		await engine.enqueue(current, queue);
		return engine.saveRun(current, progress);
	});
}

/** Runs a node and everything below it again, as a sub-run of the same number. */
export async function restartRun(
	engine: RunEngine,
	previous: RunDoc,
	node: string,
	who: string,
): Promise<RunDoc> {
	if (ACTIVE_RUN_STATUSES.has(previous.status))
		throw new RunConflictError(`run #${previous.number} is still ${previous.status}: stop it first`);
	if (!previous.progress.state.nodes[node]) throw new RunNotFoundError(`node ${node}`, { node });
	const def = await engine.definition(previous);
	// The next sub-run of the number, whichever of its sub-runs is restarted.
	const base = await engine.repo.runs.findOne({
		_id: runId(previous.project, previous.workflow, previous.number),
	});
	const sub = Math.max(previous.sub ?? 0, base?.latestSub ?? 0) + 1;
	const now = engine.now();
	const doc: RunDoc = {
		...previous,
		_id: subRunId(previous.project, previous.workflow, previous.number, sub),
		sub,
		status: "Waiting",
		triggeredBy: who,
		created: iso(now),
		updated: iso(now),
		ended: null,
		createdMs: now,
		latestSub: undefined,
	};
	try {
		await engine.repo.runs.insert(doc);
	} catch (e) {
		if (e instanceof DuplicateKeyError) throw new RunConflictError("this run is being restarted already");
		throw e;
	}
	await engine.repo.activeRuns.replace({ _id: doc._id });
	// The run itself is final (checked above): nothing else writes it now.
	await engine.repo.runs.update(
		{ _id: runId(previous.project, previous.workflow, previous.number) },
		{ $set: { latestSub: sub } },
	);
	return engine.withLock(doc._id, async () => {
		const { progress, queue } = await beginRestart(
			doc._id,
			def.model,
			def.pipelines,
			previous.progress,
			node,
			doc.vars,
			engine.evaluator(doc),
			engine.now(),
		);
		await engine.enqueue(doc, queue);
		return engine.saveRun(doc, progress);
	});
}
