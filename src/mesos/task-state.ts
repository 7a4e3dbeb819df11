// What a Mesos task state means for the job its worker serves (a WorkerHandle state), and when
// the job cannot end well, why — the hatchery fails it with that reason at once instead of
// waiting for the worker's heartbeats to stop.
//
// TASK_FINISHED and TASK_FAILED are the worker process's own exit: the worker reported its job
// (or, killed hard, it stopped heartbeating and the run service judges it "worker lost"), so no
// reason is given. TASK_KILLED is no failure when this framework asked for it. The others say
// the task or its agent is gone without the worker's word: its job fails with the state and
// the master's message. TASK_DROPPED for an offer that was no longer valid (rescinded while the
// ACCEPT was on its way) never started anything: the job waits for the next offer instead.

import type { WorkerHandle } from "../hatchery/contract.ts";
import type { TaskStatus } from "./scheduler-api.ts";

export type TaskOutcome =
	| { kind: "provisioning" }
	| { kind: "running" }
	| { kind: "requeue" }
	| { kind: "over"; code: number | null; failure?: WorkerHandle["failure"] };

const TERMINAL = new Set([
	"TASK_FINISHED",
	"TASK_FAILED",
	"TASK_KILLED",
	"TASK_ERROR",
	"TASK_LOST",
	"TASK_DROPPED",
	"TASK_GONE",
	"TASK_GONE_BY_OPERATOR",
	"TASK_UNKNOWN",
	"TASK_UNREACHABLE",
]);

export function isTerminal(state: string): boolean {
	return TERMINAL.has(state);
}

function why(s: TaskStatus): string {
	const state = s.state.replace(/^TASK_/, "").toLowerCase();
	const detail = [s.reason?.replace(/^REASON_/, "").toLowerCase(), s.message].filter(Boolean).join(": ");
	return `mesos task ${state}${detail ? ` (${detail})` : ""}`;
}

/**
 * `started`: the task was seen running before this status. `killedByUs`: this framework sent
 * the KILL (job over, stopped), so the end is no failure.
 */
export function taskOutcome(s: TaskStatus, started: boolean, killedByUs: boolean): TaskOutcome {
	switch (s.state) {
		case "TASK_STAGING":
		case "TASK_STARTING":
			return { kind: "provisioning" };
		case "TASK_RUNNING":
		case "TASK_KILLING":
			return { kind: "running" };
		case "TASK_FINISHED":
			return { kind: "over", code: 0 };
		case "TASK_FAILED":
			return { kind: "over", code: null };
		case "TASK_KILLED":
			return killedByUs
				? { kind: "over", code: null }
				: { kind: "over", code: null, failure: { reason: why(s), started } };
		default:
			// A launch on an offer no longer valid (TASK_DROPPED, or TASK_LOST from a master that
			// does not know the framework is partition-aware): nothing ran.
			if (s.reason === "REASON_INVALID_OFFERS" && !started) return { kind: "requeue" };
			// LOST, DROPPED, GONE, GONE_BY_OPERATOR, ERROR, UNREACHABLE, UNKNOWN: gone unheard.
			if (killedByUs) return { kind: "over", code: null };
			return { kind: "over", code: null, failure: { reason: why(s), started } };
	}
}
