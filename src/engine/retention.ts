// Retention: artifacts of runs beyond each workflow's history length lose their references;
// blobs nothing refers to are deleted once seen unreferenced for a grace period (BlobSweeper);
// runs of branches deleted longer ago than the retention delay are purged with their jobs,
// logs, results, artifact references and claims (unless the branch came back).

import type { ArtifactStore, StoredBlob } from "../artifacts/artifact-store.ts";
import { type BlobSweeper, expiredRunNumbers } from "./garbage.ts";
import type { RunEngine } from "./run-engine.ts";
import { ACTIVE_RUN_STATUSES, runId } from "./run-repository.ts";

export interface GarbageReport {
	expiredRefs: number;
	deletedBlobs: number;
	/** Direct uploads (presigned) never committed, removed from the store. */
	staleUploads: number;
	purgedRuns: number;
}

/** A presigned upload is stale this long after it began: its URL (minutes) has long expired. */
export const STALE_UPLOAD_MS = 2 * 3600_000;

/** Artifact references of runs older than each workflow's history; returns how many went. */
export async function expireArtifactRefs(engine: RunEngine): Promise<number> {
	const { repo } = engine;
	let expired = 0;
	const allRefs = await repo.artifactRefs.find({});
	for (const counter of await repo.counters.find({})) {
		const [project, ...rest] = counter._id.split("/");
		const workflow = rest.join("/");
		const base = await repo.runs.findOne({ _id: runId(project!, workflow, counter.last) });
		const keep = base
			? ((await engine.definition(base).catch(() => undefined))?.model.historyLength ??
				engine.settings.historyLength)
			: engine.settings.historyLength;
		const { below } = expiredRunNumbers(counter.last, keep);
		const prefix = `${project}/${workflow}/`;
		for (const ref of allRefs) {
			if (!ref.scope.startsWith(prefix)) continue;
			const number = Number.parseInt(ref.scope.slice(prefix.length), 10);
			if (Number.isFinite(number) && number < below) {
				await repo.artifactRefs.remove({ _id: ref._id });
				expired++;
			}
		}
	}
	return expired;
}

/**
 * Runs of branches deleted longer ago than the retention delay go, with their jobs and logs
 * (unless the branch came back: it has a definition again). `branchExists` asks the workflow
 * service. Returns how many runs were purged.
 */
export async function purgeDeletedBranches(
	engine: RunEngine,
	branchExists: (project: string, workflow: string, branch: string) => Promise<boolean>,
): Promise<number> {
	const { repo } = engine;
	const store = repo.store;
	let purged = 0;
	for (const d of await repo.branchDeletions.find({})) {
		if (engine.now() - d.deletedAt < engine.settings.deletedBranchRetentionMs) continue;
		if (!(await branchExists(d.project, d.workflow, d.branch))) {
			for (const run of await repo.runs.find({
				project: d.project,
				workflow: d.workflow,
				branch: d.branch,
			})) {
				if (ACTIVE_RUN_STATUSES.has(run.status)) continue;
				// Claims first, documents after: a finished run is neither booked nor advanced
				// any more, and its claims would otherwise stay in _claims for ever.
				await store.forget("run-lock", run._id);
				for (const job of await repo.jobsOfRun(run)) {
					await store.forget("booking", job._id);
					await repo.logs.remove({ jobId: job._id }, { multi: true });
					await repo.jobSteps.remove({ jobId: job._id }, { multi: true });
					await repo.results.remove({ _id: job._id });
					await repo.jobs.remove({ _id: job._id });
				}
				await repo.artifactRefs.remove({ scope: run._id }, { multi: true });
				await repo.runs.remove({ _id: run._id });
				purged++;
			}
		}
		await repo.branchDeletions.remove({ _id: d._id });
	}
	return purged;
}

/** One garbage collection: expired references, unreferenced blobs, deleted branches. */
export async function collectGarbage(
	engine: RunEngine,
	deps: {
		artifacts: ArtifactStore;
		sweeper: BlobSweeper;
		graceMs: number;
		branchExists: (project: string, workflow: string, branch: string) => Promise<boolean>;
		/** Blobs other services hold (plugin binaries): never garbage. */
		alsoReferenced?: () => Promise<Iterable<string>>;
		/** Upload objects older than this are leftovers (default STALE_UPLOAD_MS). */
		staleUploadMs?: number;
	},
): Promise<GarbageReport> {
	const { repo } = engine;
	const expiredRefs = await expireArtifactRefs(engine);
	// Keys: `sha` for a blob of no project (any store) and `PROJECT/sha` for a blob a store keeps
	// per project (Swift); a reference counts for its hash and for its project's copy.
	const referenced = new Set<string>();
	for (const refs of [repo.artifactRefs, repo.cacheRefs, repo.reportRefs])
		for (const r of await refs.find({})) {
			referenced.add(r.sha256);
			referenced.add(`${r.scope.split("/")[0]}/${r.sha256}`);
		}
	for (const sha of (await deps.alsoReferenced?.()) ?? []) referenced.add(sha);
	const stored = new Map<string, StoredBlob>();
	for await (const blob of deps.artifacts.list())
		stored.set(blob.project ? `${blob.project}/${blob.sha256}` : blob.sha256, blob);
	const doomed = deps.sweeper.sweep(stored.keys(), referenced, engine.now(), deps.graceMs);
	for (const key of doomed) {
		const blob = stored.get(key)!;
		await deps.artifacts.delete(blob.sha256, blob.project ? { project: blob.project } : {});
	}
	// Uploads never committed (a worker gone between its upload and its commit).
	const staleUploads = (await deps.artifacts.collectStale?.(deps.staleUploadMs ?? STALE_UPLOAD_MS)) ?? 0;
	const purgedRuns = await purgeDeletedBranches(engine, deps.branchExists);
	return { expiredRefs, deletedBlobs: doomed.length, staleUploads, purgedRuns };
}
