// Where a report came from, for the web UI's report page: a run can hold several reports of one
// name (one per node, and one more each time a node is restarted in a sub-run), so each report says
// its node, its run (`#1.1` for the first restart of run 1) and its job. Pure (ids only).

export interface ReportIds {
	node: string;
	runId: string;
	jobId: string;
}

/** `#7` or `#7.2` from a run id `PROJ/wf/0000000007[.002]`, or null when the id is not one. */
export function runRef(runId: string): string | null {
	const m = /\/(\d+)(?:\.(\d+))?$/.exec(runId);
	if (!m) return null;
	const sub = m[2] === undefined ? 0 : Number(m[2]);
	return `#${Number(m[1])}${sub > 0 ? `.${sub}` : ""}`;
}

/** "node test · run #1.1 · job 1, attempt 2" (the parts that cannot be read are left out). */
export function reportOrigin(r: ReportIds): string {
	const parts = [`node ${r.node}`];
	const run = runRef(r.runId);
	if (run) parts.push(`run ${run}`);
	const job = /\/j(\d+)\/a(\d+)$/.exec(r.jobId);
	if (job) parts.push(`job ${Number(job[1]) + 1}, attempt ${Number(job[2])}`);
	return parts.join(" · ");
}
