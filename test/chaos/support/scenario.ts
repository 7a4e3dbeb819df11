// One chaos scenario: start a run whose step succeeds and one whose step fails, break something
// once both steps are printing, then judge both runs and everything clients saw meanwhile.

import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import type { ChaosCluster } from "./cluster.ts";
import { ApiProbe, describeWrong } from "./probe.ts";
import { judge, KO, OK, type StepPlan, startRun, waitStepsRunning } from "./workload.ts";
import { PROJECT } from "./cluster.ts";

/** Routes a client reads all along: the project (B), the workflows (B), the runs (C), a run (C). */
const BACKGROUND = [
	`/api/v1/projects/${PROJECT}`,
	`/api/v1/projects/${PROJECT}/workflows`,
	`/api/v1/projects/${PROJECT}/workflows/OK/runs`,
];

/** A scenario that takes longer is cancelled: the suite must stay within about 10 minutes. */
export const SCENARIO = { timeout: 240_000 };

export async function underChaos(
	t: TestContext,
	cluster: ChaosCluster,
	breakIt: () => Promise<void>,
	plans: StepPlan[] = [OK, KO],
): Promise<void> {
	const probe = new ApiProbe(cluster.url, cluster.env.CDS_ADMIN_TOKEN!, BACKGROUND);
	probe.start();
	// A cancelled scenario (its timeout) must not leave the probe polling: the file would never end.
	t.signal.addEventListener("abort", () => void probe.stop(), { once: true });
	let verdicts: Awaited<ReturnType<typeof judge>>[] = [];
	let summary: Awaited<ReturnType<ApiProbe["stop"]>> | undefined;
	try {
		const runs = [];
		for (const plan of plans) runs.push(await startRun(cluster, plan));
		for (const r of runs) probe.watch(r.route);
		await waitStepsRunning(cluster, runs);
		const began = Date.now();
		await breakIt();
		t.diagnostic(`broken and back in ${((Date.now() - began) / 1000).toFixed(1)} s`);
		verdicts = await Promise.all(runs.map((r) => judge(cluster, r)));
	} finally {
		summary = await probe.stop();
	}
	t.diagnostic(`client answers: ${JSON.stringify(summary.byStatus)}; slowest ${summary.slowestMs} ms`);
	for (const v of verdicts) {
		t.diagnostic(
			`${v.run}: ${v.status} (expected ${v.expected}), step started ${v.starts}× ended ${v.ends}×, ` +
				`printed ${v.printed} lines, ${v.missingLines.length} missing from the logs, ${v.duplicatedLines.length} stored twice`,
		);
	}
	const failures: string[] = [];
	for (const v of verdicts) {
		if (v.status !== v.expected)
			failures.push(
				`${v.run} ended ${v.status}, not ${v.expected} (its step ${v.ends ? "ran to its end" : "never reached its end"}): ${JSON.stringify(v.nodes)}`,
			);
		if (v.starts !== 1) failures.push(`${v.run}: its step (no retry) started ${v.starts} times`);
		if (v.missingLines.length > 0)
			failures.push(
				`${v.run}: ${v.missingLines.length} of the ${v.printed} lines its step printed are not in the logs: ${v.missingLines.join(",")}`,
			);
		if (v.duplicatedLines.length > 0)
			failures.push(`${v.run}: log lines stored twice: ${v.duplicatedLines.join(",")}`);
	}
	if (summary.wrong.length > 0)
		failures.push(`clients saw answers other than 2xx/503:\n${describeWrong(summary.wrong)}`);
	if (summary.noRetryAfter.length > 0)
		failures.push(
			`${summary.noRetryAfter.length} answers 503 without Retry-After:\n${describeWrong(summary.noRetryAfter)}`,
		);
	if (failures.length > 0) assert.fail(`${failures.join("\n")}\n\n${cluster.outputs()}`);
}
