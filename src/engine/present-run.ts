// The JSON shape of a run for the API: nodes, stages and jobs with their latest attempt.

import type { JobDoc, RunDoc, RunView } from "../../schemas/run.ts";

const at = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : null);

export function presentRun(run: RunDoc, jobs?: JobDoc[]): RunView {
	const nodes = Object.values(run.progress.state.nodes).map((n) => {
		const p = run.progress.pipelines[n.name];
		return {
			name: n.name,
			status: n.status,
			reason: n.reason ?? null,
			startedAt: at(n.startedAt),
			doneAt: at(n.doneAt),
			resumedBy: n.resumedBy ?? null,
			pipeline: p?.pipeline ?? null,
			stages: (p?.stages ?? []).map((s) => ({
				name: s.name,
				status: s.status,
				jobs: s.jobs.map((j) => {
					const doc = jobs
						?.filter((d) => d.node === n.name && d.jobIndex === j.id)
						.sort((a, b) => b.attempt - a.attempt)[0];
					return {
						name: j.name,
						// The state machine calls a started job Building; until a worker takes it, it waits in the queue.
						status:
							j.status === "Building" &&
							doc &&
							(doc.status === "Waiting" || doc.status === "Booked") &&
							doc.attempt === j.attempt
								? "Waiting"
								: j.status,
						attempt: j.attempt,
						reason: j.reason ?? doc?.reason ?? null,
						id: doc?._id ?? null,
						startedAt: at(doc?.startedAt),
						endedAt: at(doc?.endedAt),
					};
				}),
			})),
		};
	});
	return {
		id: run._id,
		project: run.project,
		workflow: run.workflow,
		number: run.number,
		sub: run.sub ?? 0,
		status: run.status,
		branch: run.branch,
		commit: run.commit,
		definitionVersion: run.definitionVersion,
		triggeredBy: run.triggeredBy,
		created: run.created,
		updated: run.updated,
		ended: run.ended,
		tags: run.tags,
		nodes,
	};
}
