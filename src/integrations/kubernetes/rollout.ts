// Whether a workload's rollout is over, from its live object — the rules `kubectl rollout
// status` applies: the controller must have observed the applied generation, every replica
// must run the new template, no old replica may be left, and the new ones must be available
// (ready for StatefulSets). A Deployment past its progressDeadlineSeconds is a failure at once.

export type RolloutState =
	| { state: "done"; message: string }
	| { state: "progressing"; message: string }
	| { state: "failed"; message: string };

type Obj = {
	kind?: string;
	metadata?: { name?: string; generation?: number };
	spec?: Record<string, any>;
	status?: Record<string, any>;
};

const n = (v: unknown): number => (typeof v === "number" ? v : 0);

export function rolloutState(o: Obj): RolloutState {
	const name = `${o.kind}/${o.metadata?.name}`;
	const status = o.status ?? {};
	const generation = n(o.metadata?.generation);
	if (n(status.observedGeneration) < generation)
		return {
			state: "progressing",
			message: `${name}: waiting for the controller to observe generation ${generation}`,
		};
	if (o.kind === "Deployment") return deploymentState(name, o.spec ?? {}, status);
	if (o.kind === "StatefulSet") return statefulSetState(name, o.spec ?? {}, status);
	if (o.kind === "DaemonSet") return daemonSetState(name, status);
	return { state: "done", message: `${name}: applied` };
}

function deploymentState(name: string, spec: Record<string, any>, status: Record<string, any>): RolloutState {
	const progressing = (status.conditions ?? []).find((c: any) => c?.type === "Progressing");
	if (progressing?.reason === "ProgressDeadlineExceeded")
		return { state: "failed", message: `${name}: ${progressing.message ?? "progress deadline exceeded"}` };
	const want = typeof spec.replicas === "number" ? spec.replicas : 1;
	const updated = n(status.updatedReplicas);
	const total = n(status.replicas);
	const available = n(status.availableReplicas);
	if (updated < want)
		return { state: "progressing", message: `${name}: ${updated} of ${want} new replicas have been updated` };
	if (total > updated)
		return {
			state: "progressing",
			message: `${name}: ${total - updated} old replicas are pending termination`,
		};
	if (available < updated)
		return {
			state: "progressing",
			message: `${name}: ${available} of ${updated} updated replicas are available`,
		};
	return { state: "done", message: `${name}: successfully rolled out (${available} available)` };
}

function statefulSetState(
	name: string,
	spec: Record<string, any>,
	status: Record<string, any>,
): RolloutState {
	const want = typeof spec.replicas === "number" ? spec.replicas : 1;
	const ready = n(status.readyReplicas);
	if (ready < want) return { state: "progressing", message: `${name}: ${ready} of ${want} pods are ready` };
	const strategy = spec.updateStrategy ?? {};
	if (strategy.type === "OnDelete")
		return { state: "done", message: `${name}: ${ready} pods ready (OnDelete)` };
	const partition = n(strategy.rollingUpdate?.partition);
	if (partition > 0) {
		const updated = n(status.updatedReplicas);
		if (updated < want - partition)
			return {
				state: "progressing",
				message: `${name}: ${updated} of ${want - partition} pods updated (partition ${partition})`,
			};
		return { state: "done", message: `${name}: partitioned rollout complete` };
	}
	if (status.updateRevision && status.currentRevision !== status.updateRevision)
		return {
			state: "progressing",
			message: `${name}: ${n(status.updatedReplicas)} of ${want} pods at revision ${status.updateRevision}`,
		};
	return {
		state: "done",
		message: `${name}: rolled out (${ready} ready, revision ${status.currentRevision ?? "?"})`,
	};
}

function daemonSetState(name: string, status: Record<string, any>): RolloutState {
	const desired = n(status.desiredNumberScheduled);
	const updated = n(status.updatedNumberScheduled);
	const available = n(status.numberAvailable);
	if (updated < desired)
		return { state: "progressing", message: `${name}: ${updated} of ${desired} updated pods scheduled` };
	if (available < desired)
		return { state: "progressing", message: `${name}: ${available} of ${desired} updated pods available` };
	return { state: "done", message: `${name}: rolled out (${available} available)` };
}
