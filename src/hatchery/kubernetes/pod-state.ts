// What a worker pod's status means for its job: still starting, running, over — or stuck in a
// way that will not heal by itself (an image that cannot be pulled, a pod no node accepts),
// which the driver turns into the job's failure after a bounded wait.

export interface PodStatusView {
	phase?: string;
	reason?: string;
	message?: string;
	conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
	containerStatuses?: Array<{
		name?: string;
		state?: {
			waiting?: { reason?: string; message?: string };
			terminated?: { exitCode: number; reason?: string };
		};
	}>;
}

export type PodState =
	| { kind: "provisioning"; stuck?: string }
	| { kind: "running" }
	| { kind: "over"; exitCode: number | null; failure?: string };

/** Waiting reasons of a container that only an operator can fix. */
const STUCK_WAITING = new Set([
	"ErrImagePull",
	"ImagePullBackOff",
	"InvalidImageName",
	"ErrImageNeverPull",
	"CreateContainerConfigError",
	"CreateContainerError",
]);

export function podState(status: PodStatusView | undefined): PodState {
	const phase = status?.phase ?? "Pending";
	if (phase === "Succeeded" || phase === "Failed") {
		// The worker's exit code (kubelets list containers by name: the step container may come first).
		const statuses = status?.containerStatuses ?? [];
		const exit = (statuses.find((c) => c.name === "worker") ?? statuses[0])?.state?.terminated?.exitCode;
		// A pod failed by the node (eviction, deadline) never let its worker report: say why.
		const failure =
			phase === "Failed" && status?.reason
				? `pod ${status.reason}${status.message ? `: ${status.message}` : ""}`
				: undefined;
		return { kind: "over", exitCode: exit ?? (phase === "Succeeded" ? 0 : null), failure };
	}
	if (phase === "Running") return { kind: "running" };
	for (const c of status?.containerStatuses ?? []) {
		const w = c.state?.waiting;
		if (w?.reason && STUCK_WAITING.has(w.reason)) return { kind: "provisioning", stuck: describe(w) };
	}
	const scheduled = status?.conditions?.find((c) => c.type === "PodScheduled");
	if (scheduled?.status === "False" && scheduled.reason === "Unschedulable")
		return { kind: "provisioning", stuck: describe(scheduled) };
	return { kind: "provisioning" };
}

function describe(x: { reason?: string; message?: string }): string {
	return `${x.reason}${x.message ? `: ${x.message}` : ""}`;
}
