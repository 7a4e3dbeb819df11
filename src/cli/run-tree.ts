// Text views of a run: the status tree (nodes → stages → jobs with status and duration)
// printed by `workflow status`, `track` and `--wait`, and the one-line status changes that
// `track` prints when stdout is not a terminal. Pure functions: `now` and colour are inputs.

import type { Run, RunJob, RunNode, RunStage } from "./run-api.ts";
import { isFinal, runLabel } from "./run-api.ts";

export interface TreeOptions {
	/** Colour the status words with ANSI escapes (only on a terminal). */
	color: boolean;
	/** Epoch ms used for the running time of what has not ended yet. */
	now: number;
}

const STATUS_COLOR: Record<string, number> = {
	Success: 32,
	Fail: 31,
	Building: 36,
	Waiting: 33,
	Manual: 35,
	Stopped: 90,
	Skipped: 90,
	Disabled: 90,
};

/** The status word, padded to `width` and coloured when asked (padding first, so columns stay aligned). */
function statusWord(status: string, color: boolean, width = 0): string {
	const padded = status.padEnd(width);
	const code = STATUS_COLOR[status];
	if (!color || code === undefined) return padded;
	return `\x1b[${code}m${status}\x1b[0m${padded.slice(status.length)}`;
}

/** 850ms, 3.2s, 42s, 2m05s, 1h03m. */
export function formatDuration(ms: number): string {
	if (!Number.isFinite(ms) || ms < 0) return "";
	if (ms < 1000) return `${Math.round(ms)}ms`;
	const seconds = ms / 1000;
	if (seconds < 10) return `${seconds.toFixed(1)}s`;
	if (seconds < 60) return `${Math.floor(seconds)}s`;
	const minutes = Math.floor(seconds / 60);
	if (minutes < 60) return `${minutes}m${String(Math.floor(seconds % 60)).padStart(2, "0")}s`;
	return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}

/** How long something ran: start to end, or start to now while it has not ended; "" when it never started. */
export function elapsed(
	start: string | null | undefined,
	end: string | null | undefined,
	now: number,
	running: boolean,
): string {
	if (!start) return "";
	const from = Date.parse(start);
	const to = end ? Date.parse(end) : running ? now : Number.NaN;
	return Number.isNaN(from) || Number.isNaN(to) ? "" : formatDuration(to - from);
}

interface Row {
	left: string;
	status: string;
	duration: string;
	reason?: string | null;
}

function nodeLabel(node: RunNode): string {
	return node.pipeline && node.pipeline !== node.name ? `${node.name} [${node.pipeline}]` : node.name;
}

/** Pipelines written without stages get one unnamed stage: show its position instead. */
function stageLabel(stage: RunStage, index: number): string {
	return stage.name || `stage ${index + 1}`;
}

function jobLabel(job: RunJob): string {
	return job.attempt && job.attempt > 1 ? `${job.name} (attempt ${job.attempt})` : job.name;
}

function treeRows(run: Run, now: number): Row[] {
	const rows: Row[] = [];
	run.nodes.forEach((node, n) => {
		const lastNode = n === run.nodes.length - 1;
		rows.push({
			left: `${lastNode ? "└─ " : "├─ "}${nodeLabel(node)}`,
			status: node.status,
			duration: elapsed(node.startedAt, node.doneAt, now, node.status === "Building"),
			reason: node.reason,
		});
		const nodeIndent = lastNode ? "   " : "│  ";
		node.stages.forEach((stage, s) => {
			const lastStage = s === node.stages.length - 1;
			rows.push({
				left: `${nodeIndent}${lastStage ? "└─ " : "├─ "}${stageLabel(stage, s)}`,
				status: stage.status,
				duration: "",
			});
			const stageIndent = `${nodeIndent}${lastStage ? "   " : "│  "}`;
			stage.jobs.forEach((job, j) => {
				rows.push({
					left: `${stageIndent}${j === stage.jobs.length - 1 ? "└─ " : "├─ "}${jobLabel(job)}`,
					status: job.status,
					duration: elapsed(job.startedAt, job.endedAt, now, job.status === "Building"),
					reason: job.reason,
				});
			});
		});
	});
	return rows;
}

/** The run as lines: a header, a details line, then the tree with aligned status and duration columns. */
export function renderRunTree(run: Run, options: TreeOptions): string[] {
	const { color, now } = options;
	const total = elapsed(run.created, run.ended, now, !isFinal(run.status));
	const header = [`${run.workflow} ${runLabel(run)}`, statusWord(run.status, color), total]
		.filter(Boolean)
		.join("  ");
	const details = [
		run.branch ? `branch ${run.branch}` : "",
		run.commit ? `commit ${run.commit.slice(0, 12)}` : "",
		run.triggeredBy ? `by ${run.triggeredBy}` : "",
		run.created ? `started ${run.created}` : "",
	].filter(Boolean);
	const lines = [header];
	if (details.length > 0) lines.push(details.join("  "));
	const tags = Object.entries(run.tags ?? {});
	if (tags.length > 0) lines.push(`tags ${tags.map(([k, v]) => `${k}=${v}`).join(" ")}`);
	const rows = treeRows(run, now);
	const leftWidth = Math.max(0, ...rows.map((r) => r.left.length));
	const statusWidth = Math.max(0, ...rows.map((r) => r.status.length));
	for (const row of rows) {
		const parts = [row.left.padEnd(leftWidth), statusWord(row.status, color, statusWidth), row.duration];
		if (row.reason && row.status !== "Success") parts.push(`(${row.reason})`);
		lines.push(
			parts
				.filter((part) => part !== "")
				.join("  ")
				.trimEnd(),
		);
	}
	return lines;
}

/** Every status in the run keyed by where it is: "" for the run, "node", "node/stage", "node/stage/job". */
export function statusSnapshot(run: Run): Map<string, string> {
	const snapshot = new Map<string, string>([["", run.status]]);
	for (const node of run.nodes) {
		snapshot.set(node.name, node.status);
		node.stages.forEach((stage, index) => {
			const where = `${node.name}/${stageLabel(stage, index)}`;
			snapshot.set(where, stage.status);
			for (const job of stage.jobs) snapshot.set(`${where}/${jobLabel(job)}`, job.status);
		});
	}
	return snapshot;
}

/**
 * One line per status that changed since `previous` (all of them when there is none), in tree
 * order, e.g. `#4 Building`, `build Building`, `build/Build/compile Success`.
 */
export function statusChanges(previous: Map<string, string> | undefined, run: Run, color: boolean): string[] {
	const lines: string[] = [];
	for (const [where, status] of statusSnapshot(run)) {
		if (previous?.get(where) === status) continue;
		lines.push(`${where === "" ? runLabel(run) : where} ${statusWord(status, color)}`);
	}
	return lines;
}

/** `5m02s ago`, or "" when the date cannot be read. */
export function timeAgo(iso: string | null | undefined, now: number): string {
	const t = iso ? Date.parse(iso) : Number.NaN;
	if (Number.isNaN(t)) return "";
	return now - t < 1000 ? "just now" : `${formatDuration(now - t)} ago`;
}
