// Which jobs a hatchery vouches for (`run.workersAlive`): those whose worker its driver lists
// running — except the workers the driver flags `unconfirmed`, whose listing is no proof of
// life (a pod stays Running in the Kubernetes API after its node is lost). A job vouched for is
// not judged "worker lost" while its own heartbeats cannot reach the API.

import type { WorkerHandle } from "./contract.ts";

export function vouchedJobs(workers: readonly WorkerHandle[]): string[] {
	return workers
		.filter((w) => w.state === "running" && w.jobId && !w.unconfirmed)
		.map((w) => w.jobId as string);
}
