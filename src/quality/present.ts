// What the report API answers for a stored report and a vulnerability ignore.

import type { ReportDoc, VulnIgnoreDoc } from "../../schemas/report.ts";
import { isIgnoreActive } from "./ignores.ts";

/** A report as the API shows it: the gate carries the settings it was judged by. */
export function presentReport(d: ReportDoc) {
	return {
		id: d._id,
		project: d.project,
		workflow: d.workflow,
		runId: d.runId,
		runNumber: d.runNumber,
		branch: d.branch,
		commit: d.commit,
		node: d.node,
		jobId: d.jobId,
		application: d.application,
		kind: d.kind,
		name: d.name,
		format: d.format,
		...(d.tool ? { tool: d.tool } : {}),
		summary: d.summary,
		truncated: d.truncated,
		gate: { ...d.gate, settings: d.settings },
		defaultBranch: d.defaultBranch,
		comparisons: d.comparisons,
		created: d.created,
	};
}

/** An ignore as the API shows it: `active` is false once it has expired (it is kept for the record). */
export function presentIgnore(d: VulnIgnoreDoc, now: Date = new Date()) {
	return {
		id: d._id,
		application: d.application,
		vulnerability: d.vulnerability,
		package: d.package ?? null,
		reason: d.reason,
		expires: d.expires,
		active: isIgnoreActive(d, now),
		created: d.created,
		author: d.author,
	};
}
