// What a worker app's state in Marathon means for its job. Marathon keeps an app's instances
// running, so a worker app whose task ended is not gone: it shows no task, and waits in the
// launch queue behind its backoff (the driver sets a long one). Its last task failure says
// whether the task failed and why. A command that exited or was killed by a signal is the
// worker's own end (its job's state is what the worker reported, or "worker lost" by the
// heartbeat); Mesos' own failures (lost, dropped, gone, a failed fetch, an unhealthy kill) are
// reasons the hatchery fails the job with at once, and so is a task that failed before it was
// ever seen running (its worker could not start).

import type { MarathonApp, QueueItem } from "../../marathon/types.ts";

export type AppState =
	| { kind: "provisioning"; since?: number }
	| { kind: "running" }
	| { kind: "over"; exitCode: number | null; failure?: string };

const COMMAND_END = /^Command (exited with status (\d+)|terminated with signal)/;

export function appState(
	app: MarathonApp,
	queued: QueueItem | undefined,
	seen: { task: boolean; running: boolean },
): AppState {
	const seenTask = seen.task;
	const tasks = app.tasks ?? [];
	if (tasks.some((t) => t.state === "TASK_RUNNING")) return { kind: "running" };
	if (tasks.length > 0) return { kind: "provisioning" };
	const failure = app.lastTaskFailure;
	// A task ended when Marathon holds the app back (its backoff), or when one was seen before.
	const ended = seenTask || failure !== undefined || (queued !== undefined && !queued.delay.overdue);
	if (!ended) return { kind: "provisioning" };
	if (!failure) return { kind: "over", exitCode: 0 };
	const command = COMMAND_END.exec(failure.message ?? "");
	// A command that ended before anyone saw it run (the worker cannot start: a bad image, a
	// deployment that fails) is a reason too; after running, the worker's own end.
	if (failure.state === "TASK_FAILED" && command && seen.running)
		return { kind: "over", exitCode: command[2] !== undefined ? Number(command[2]) : null };
	return {
		kind: "over",
		exitCode: null,
		failure: `marathon task ${failure.state}${failure.message ? `: ${failure.message}` : ""}`,
	};
}

/** Why an app's task does not start, as the launch queue tells it. */
export function notStartedReason(queued: QueueItem | undefined): string {
	const rejects = (queued?.processedOffersSummary?.rejectSummaryLastOffers ?? [])
		.filter((r) => r.declined > 0)
		.map((r) => `${r.reason} (${r.declined}/${r.processed} offers)`);
	if (rejects.length > 0) return `no Mesos offer fits: ${rejects.join(", ")}`;
	if (queued && !queued.delay.overdue)
		return `Marathon delays its launch (${queued.delay.timeLeftSeconds}s left)`;
	return "its task never started";
}
