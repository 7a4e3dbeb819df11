// Persistent workspaces (a node's `persistent_workspace:`): one per (project, workflow, node,
// branch, name), leased to one job at a time. The lease is a Store claim (a unique insert —
// FerretDB v1 has no atomic conditional update) owned by the booking's owner (`jobId@nonce`,
// see job-slots.ts), taken when the job is booked and released when its booking ends, whatever
// the job's final state. As for slots, a booking writes its active entry (naming the lease)
// before claiming and removes it only after releasing, so a lease whose owner has no active
// entry is over and the reaper's sweep frees it; the claim's expiry bounds even that.
// The `workspaces` collection records each workspace (which hatcheries used it, who holds it,
// whether its workflow was deleted) so hatcheries can delete what their drivers keep.

import { createHash } from "node:crypto";
import type { ActiveJobDoc, JobDoc, WorkspaceDoc } from "../../schemas/run.ts";
import type { PersistentWorkspaceSpec } from "../workflow/model.ts";
import { parseSlotOwner } from "./job-slots.ts";
import type { RunEngine } from "./run-engine.ts";

export const WORKSPACE_LEASES = "workspace";

/** What a job carries about its node's workspace (JobDoc.workspace). */
export interface JobWorkspace {
	id: string;
	name: string;
	sizeBytes: number;
	branch: string;
}

/**
 * The stable id of a workspace: `ws-<name>-<hash>` — [a-z0-9-], at most 60 characters, so it
 * serves as a directory, volume or label name; the hash tells apart the same name on another
 * branch, node, workflow or project.
 */
export function workspaceId(
	project: string,
	workflow: string,
	node: string,
	branch: string,
	name: string,
): string {
	const hash = createHash("sha256")
		.update(JSON.stringify([project, workflow, node, branch, name]))
		.digest("hex")
		.slice(0, 16);
	return `ws-${name}-${hash}`;
}

export function jobWorkspace(
	run: { project: string; workflow: string; branch: string },
	node: string,
	spec: PersistentWorkspaceSpec,
): JobWorkspace {
	return {
		id: workspaceId(run.project, run.workflow, node, run.branch, spec.name),
		name: spec.name,
		sizeBytes: spec.sizeBytes,
		branch: run.branch,
	};
}

/** Longest a lease can be needed: the job's timeout plus the reaper's margins. */
export function leaseTtlMs(engine: RunEngine, timeoutSeconds: number): number {
	const s = engine.settings;
	return timeoutSeconds * 1000 + s.bookingTimeoutMs + s.heartbeatTimeoutMs + 60_000;
}

export type LeaseVerdict = { won: true } | { won: false; reason: string };

/** The text a job waiting for its workspace shows as its reason. */
export async function heldBy(engine: RunEngine, name: string, owner: string): Promise<string> {
	const holder = await engine.repo.jobs.findOne({ _id: parseSlotOwner(owner).jobId });
	return `waiting for persistent workspace ${name} held by ${holder ? `run #${holder.runNumber}` : "another job"}`;
}

/** Takes the lease of a job's workspace for the booking `owner`, and records the use. */
export async function claimWorkspace(
	engine: RunEngine,
	job: JobDoc,
	owner: string,
	hatchery: string,
): Promise<LeaseVerdict> {
	const ws = job.workspace!;
	const claim = await engine.repo.store.claim(WORKSPACE_LEASES, ws.id, owner, {
		ttlMs: leaseTtlMs(engine, job.timeoutSeconds),
	});
	if (!claim.won) return { won: false, reason: await heldBy(engine, ws.name, claim.owner) };
	// Only the lease holder writes the record from here on: read-then-write is safe.
	const now = engine.now();
	const lease = { owner, jobId: job._id, runNumber: job.runNumber, at: now };
	const doc = await engine.repo.workspaces.findOne({ _id: ws.id });
	if (!doc) {
		await engine.repo.workspaces.replace({
			_id: ws.id,
			project: job.project,
			workflow: job.workflow,
			node: job.node,
			branch: ws.branch,
			name: ws.name,
			sizeBytes: ws.sizeBytes,
			created: now,
			lastUsed: now,
			hatcheries: [hatchery],
			deleted: false,
			lease,
		});
	} else {
		const hatcheries = doc.hatcheries.includes(hatchery) ? doc.hatcheries : [...doc.hatcheries, hatchery];
		// A run of a deleted workflow still queued uses its workspace again: it is live once more.
		await engine.repo.workspaces.update(
			{ _id: ws.id },
			{ $set: { lastUsed: now, hatcheries, lease, sizeBytes: ws.sizeBytes, deleted: false } },
		);
	}
	return { won: true };
}

/** The booking is over: its lease is freed (idempotent; a no-op when another owner holds it). */
export async function releaseWorkspace(engine: RunEngine, active: ActiveJobDoc): Promise<void> {
	const lease = active.workspace;
	if (!lease) return;
	await engine.repo.store.release(WORKSPACE_LEASES, lease.id, lease.owner);
	const doc = await engine.repo.workspaces.findOne({ _id: lease.id });
	if (doc?.lease?.owner === lease.owner) {
		await engine.repo.workspaces.update({ _id: lease.id }, { $set: { lease: null } });
	}
}

/**
 * Frees the leases whose booking is over (its active entry is gone: the job ended while its
 * release was lost, or the node booking it died). Returns the workspaces freed.
 */
export async function sweepWorkspaceLeases(engine: RunEngine): Promise<string[]> {
	const freed: string[] = [];
	for (const doc of await engine.repo.workspaces.find({ deleted: false })) {
		const holder = await engine.repo.store.holder(WORKSPACE_LEASES, doc._id);
		if (!holder) {
			if (doc.lease) await engine.repo.workspaces.update({ _id: doc._id }, { $set: { lease: null } });
			continue;
		}
		const { jobId } = parseSlotOwner(holder.owner);
		const active = await engine.repo.activeJobs.findOne({ _id: jobId });
		if (active?.workspace?.owner === holder.owner) continue;
		await engine.repo.store.release(WORKSPACE_LEASES, doc._id, holder.owner);
		await engine.repo.workspaces.update({ _id: doc._id }, { $set: { lease: null } });
		freed.push(doc._id);
	}
	return freed;
}

/** A workflow was deleted: its workspaces are marked so, for the hatcheries to delete. */
export async function markWorkflowWorkspacesDeleted(
	engine: RunEngine,
	project: string,
	workflow: string,
): Promise<number> {
	return engine.repo.workspaces.update({ project, workflow }, { $set: { deleted: true } }, { multi: true });
}

/** Deleted workspaces a hatchery's driver still keeps (not leased: no job of theirs runs). */
export async function workspacesToDelete(engine: RunEngine, hatchery: string): Promise<string[]> {
	const docs = await engine.repo.workspaces.find({ deleted: true });
	const out: string[] = [];
	for (const d of docs) {
		if (!d.hatcheries.includes(hatchery)) continue;
		if (await engine.repo.store.holder(WORKSPACE_LEASES, d._id)) continue;
		out.push(d._id);
	}
	return out;
}

/** A hatchery's driver deleted a workspace: once no hatchery keeps it, its record goes. */
export async function workspaceDeleted(engine: RunEngine, id: string, hatchery: string): Promise<void> {
	const doc: WorkspaceDoc | null = await engine.repo.workspaces.findOne({ _id: id });
	if (!doc?.deleted) return;
	const hatcheries = doc.hatcheries.filter((h) => h !== hatchery);
	if (hatcheries.length > 0) {
		await engine.repo.workspaces.update({ _id: id }, { $set: { hatcheries } });
		return;
	}
	await engine.repo.workspaces.remove({ _id: id });
}
