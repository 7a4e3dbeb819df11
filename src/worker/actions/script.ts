/** The `script` action: the lines joined with \n, run by `bash -e` in the workspace. */

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { interpolate } from "../../run/interpolate.ts";
import { runProcess } from "../process-runner.ts";
import type { ActionResult, StepContext } from "./context.ts";
import { processOutcome } from "./outcome.ts";

export async function runScript(lines: string[], ctx: StepContext): Promise<ActionResult> {
	const script = interpolate(lines.join("\n"), ctx.vars);
	const file = join(ctx.dirs.internal, `step-${ctx.index}.sh`);
	// Prefixed on the first line (line numbers in bash errors stay right): stderr joins stdout so
	// the log keeps the exact order in which the script wrote its lines.
	await writeFile(file, `exec 2>&1; ${script}\n`, { mode: 0o700 });
	const result = await runProcess({
		command: "bash",
		args: ["-e", file],
		cwd: ctx.dirs.workspace,
		env: ctx.env,
		onOutput: (chunk) => ctx.log.write(chunk),
		signal: ctx.signal,
		graceMs: ctx.graceMs,
	});
	return processOutcome(result, "script");
}
