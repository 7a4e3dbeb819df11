// What the Mesos suites share: the stand-in master (test/standins/mesos) with fake agents, and
// the environment that points a hatchery at it with this repository's worker.

import path from "node:path";
import { type FakeAgent, MesosMasterStandIn } from "../standins/mesos/master.ts";

export const AGENTS: FakeAgent[] = [
	{
		id: "agent-1",
		hostname: "agent-1.standin",
		cpus: 8,
		memMb: 16_384,
		attributes: { rack: "r1", os: "linux" },
	},
	{
		id: "agent-2",
		hostname: "agent-2.standin",
		cpus: 8,
		memMb: 16_384,
		attributes: { rack: "r2", os: "linux" },
	},
];

export async function startMaster(agents: FakeAgent[] = AGENTS): Promise<MesosMasterStandIn> {
	const master = new MesosMasterStandIn({
		agents,
		heartbeatSeconds: 0.5,
		log: process.env.CDS_TEST_VERBOSE ? (m) => process.stderr.write(`[mesos-standin] ${m}\n`) : undefined,
	});
	await master.start();
	return master;
}

/** The worker command of tasks on the stand-in's agents: this repository's launcher with this Node. */
export const WORKER_COMMAND = `${process.execPath} ${path.resolve(import.meta.dirname, "../../bin/cds-worker.mjs")}`;

/** A hatchery's environment for the stand-in (work: the test's directory). */
export function mesosEnv(master: MesosMasterStandIn, name: string, work: string): Record<string, string> {
	return {
		CDS_MESOS_MASTERS: master.urls.join(","),
		CDS_MESOS_WORKER_COMMAND: WORKER_COMMAND,
		CDS_MESOS_MEM_MB: "256",
		CDS_MESOS_CPUS: "0.5",
		CDS_MESOS_FAILOVER_TIMEOUT_SECONDS: "60",
		CDS_MESOS_REFUSE_SECONDS: "1",
		CDS_WORKER_BASEDIR: path.join(work, "workers", name),
		CDS_SANDBOX_SHARE: path.join(work, "shared"),
	};
}

/** Kills a task's whole process group with -9 (its shell and the worker under it). */
export function killTaskHard(master: MesosMasterStandIn, taskId: string): void {
	const pids = master.pidsOf(taskId);
	if (pids.length === 0) throw new Error(`task ${taskId} runs no process`);
	for (const pid of pids) {
		try {
			process.kill(-pid, "SIGKILL");
		} catch {
			process.kill(pid, "SIGKILL");
		}
	}
}
