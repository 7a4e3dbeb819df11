// Watching a run until it is final, for `track` and `workflow run --wait`. On a terminal the
// tree is redrawn in place; otherwise (CI logs, pipes) each status change is printed as one
// line, then the final tree once, so logs stay readable and grep-able.

import { stripVTControlCharacters } from "node:util";
import { ValidationError } from "./errors.ts";
import type { CliIo, TextSink } from "./io.ts";
import { isFinal, type Run } from "./run-api.ts";
import { renderRunTree, statusChanges, statusSnapshot } from "./run-tree.ts";

const DEFAULT_POLL_MS = 1000;

/** The polling period: CDS_POLL_INTERVAL in seconds (decimals allowed), 1 s by default. */
export function pollIntervalMs(env: Record<string, string | undefined>): number {
	const raw = env.CDS_POLL_INTERVAL;
	if (raw === undefined || raw === "") return DEFAULT_POLL_MS;
	const seconds = Number(raw);
	if (!Number.isFinite(seconds) || seconds <= 0) {
		throw new ValidationError(`invalid CDS_POLL_INTERVAL "${raw}": expected a positive number of seconds`);
	}
	return Math.max(10, Math.round(seconds * 1000));
}

/** True when the sink is a terminal (process.stdout on a TTY); in-memory sinks never are. */
function isTerminal(sink: TextSink): boolean {
	return (sink as { isTTY?: boolean }).isTTY === true;
}

/** Colours only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function useColor(io: CliIo): boolean {
	return isTerminal(io.stdout) && !io.env.NO_COLOR;
}

/** Terminal rows the lines take once long ones wrap, so a redraw moves the cursor up far enough. */
function screenRows(lines: readonly string[], columns: number): number {
	return lines.reduce(
		(rows, line) => rows + Math.max(1, Math.ceil(stripVTControlCharacters(line).length / columns)),
		0,
	);
}

/** The nodes waiting for a manual start, with the command that resumes each. */
export function manualHints(run: Run): string[] {
	return run.nodes
		.filter((node) => node.status === "Manual")
		.map(
			(node) =>
				`${node.name} waits for a manual start: cds workflow run ${run.project} ${run.workflow} --resume ${run.number} --node ${node.name}`,
		);
}

export interface FollowOptions {
	io: CliIo;
	intervalMs: number;
	/** Fetches the run again. */
	refresh(): Promise<Run>;
	sleep?(ms: number): Promise<void>;
	now?(): number;
}

/** Shows `run` and keeps refreshing it until its status is final; returns the final run. */
export async function followRun(run: Run, options: FollowOptions): Promise<Run> {
	const { io, intervalMs, refresh } = options;
	const sleep = options.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
	const now = options.now ?? Date.now;
	const tty = isTerminal(io.stdout);
	const color = useColor(io);
	const write = (lines: readonly string[]) => {
		if (lines.length > 0) io.stdout.write(`${lines.join("\n")}\n`);
	};

	let current = run;
	let drawnRows = 0;
	let previous: Map<string, string> | undefined;
	const hinted = new Set<string>();
	for (;;) {
		if (tty) {
			const lines = [...renderRunTree(current, { color, now: now() }), ...manualHints(current)];
			if (drawnRows > 0) io.stdout.write(`\x1b[${drawnRows}A\x1b[0J`);
			write(lines);
			drawnRows = screenRows(lines, (io.stdout as { columns?: number }).columns || 80);
		} else {
			write(statusChanges(previous, current, false));
			previous = statusSnapshot(current);
			const fresh = manualHints(current).filter((hint) => !hinted.has(hint));
			for (const hint of fresh) hinted.add(hint);
			write(fresh);
		}
		if (isFinal(current.status)) break;
		await sleep(intervalMs);
		current = await refresh();
	}
	if (!tty) write(["", ...renderRunTree(current, { color: false, now: now() })]);
	return current;
}

/** Refreshes the run quietly until it is final (for --json, where only the final run is printed). */
export async function pollUntilFinal(
	run: Run,
	options: Pick<FollowOptions, "intervalMs" | "refresh" | "sleep">,
): Promise<Run> {
	const sleep = options.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
	let current = run;
	while (!isFinal(current.status)) {
		await sleep(options.intervalMs);
		current = await options.refresh();
	}
	return current;
}
