// A health check's state machine: probes count towards a threshold and only a change of state
// (up → down, down → up) is an event, never a probe. The state lives in the store (ctx.state),
// shared by the replicas, so a leader that takes over carries on from the same counters and the
// same transition number: a transition is recorded (with `pending`) before it is emitted, and
// emitted under its sequence number, so a new leader re-emits an unacknowledged one under the
// same key and the intake keeps one.

export type TargetStatus = "unknown" | "up" | "down";

export interface ProbeResult {
	ok: boolean;
	/** HTTP status, when there was an answer. */
	status?: number;
	error?: string;
	latencyMs: number;
	at: number;
}

export interface Transition {
	seq: number;
	from: TargetStatus;
	to: "up" | "down";
	at: number;
	probe: ProbeResult;
}

export interface ProbeState {
	status: TargetStatus;
	/** Consecutive failed probes (reset by a good one). */
	failures: number;
	/** Consecutive good probes (reset by a failed one). */
	successes: number;
	/** Number of the last transition (0: none yet). */
	seq: number;
	/** When the current status began. */
	since: number | null;
	/** The last transition while it is not known to be emitted. */
	pending: Transition | null;
}

export interface Thresholds {
	failure: number;
	recovery: number;
}

export const INITIAL_PROBE_STATE: ProbeState = {
	status: "unknown",
	failures: 0,
	successes: 0,
	seq: 0,
	since: null,
	pending: null,
};

/** A state read back from the store, or the initial one when it is missing or malformed. */
export function probeStateOf(value: unknown): ProbeState {
	const v = value as Partial<ProbeState> | null;
	if (!v || typeof v !== "object" || !["unknown", "up", "down"].includes(v.status as string))
		return { ...INITIAL_PROBE_STATE };
	const n = (x: unknown) => (typeof x === "number" && Number.isFinite(x) && x >= 0 ? x : 0);
	return {
		status: v.status as TargetStatus,
		failures: n(v.failures),
		successes: n(v.successes),
		seq: n(v.seq),
		since: typeof v.since === "number" ? v.since : null,
		pending: v.pending && typeof v.pending === "object" ? (v.pending as Transition) : null,
	};
}

/**
 * The state after one probe, and the transition it makes, if any. The first verdict on a target
 * never seen (`unknown`) counts as a transition only when it is `down`: a check added on a
 * healthy target starts no run, one added on a broken target does.
 */
export function stepProbe(
	state: ProbeState,
	probe: ProbeResult,
	thresholds: Thresholds,
): { state: ProbeState; transition: Transition | null } {
	const failures = probe.ok ? 0 : Math.min(state.failures + 1, thresholds.failure);
	const successes = probe.ok ? Math.min(state.successes + 1, thresholds.recovery) : 0;
	let to: "up" | "down" | null = null;
	if (!probe.ok && failures >= thresholds.failure && state.status !== "down") to = "down";
	if (probe.ok && successes >= thresholds.recovery && state.status !== "up") to = "up";
	if (to === null) return { state: { ...state, failures, successes }, transition: null };
	if (state.status === "unknown" && to === "up")
		return {
			state: { ...state, status: "up", failures, successes, since: probe.at },
			transition: null,
		};
	const transition: Transition = { seq: state.seq + 1, from: state.status, to, at: probe.at, probe };
	return {
		state: { status: to, failures, successes, seq: transition.seq, since: probe.at, pending: transition },
		transition,
	};
}

/** Whether a transition starts a run under the hook's `on` setting. */
export function firesOn(on: "up" | "down" | "both", transition: Pick<Transition, "to">): boolean {
	return on === "both" || on === transition.to;
}
