/** The `script` action: the lines joined with \n, run by `bash -e` in the workspace. */

import { interpolate } from "../../run/interpolate.ts";
import { runProcess } from "../process-runner.ts";
import type { ActionResult, StepContext } from "./context.ts";
import { processOutcome } from "./outcome.ts";

export async function runScript(lines: string[], ctx: StepContext): Promise<ActionResult> {
	const script = interpolate(lines.join("\n"), ctx.vars);
	// The interpolated script may hold secrets: it lives in the sandbox's memory (a tmpfs), never
	// on a disk. Prefixed on the first line (line numbers in bash errors stay right): stderr
	// joins stdout so the log keeps the exact order in which the script wrote its lines.
	const name = `step-${ctx.index}.sh`;
	const result = await runProcess({
		command: "bash",
		args: ["-e", ctx.sandbox.filePath(name)],
		files: [{ name, content: `exec 2>&1; ${script}\n`, mode: 0o700 }],
		sandbox: ctx.sandbox,
		cwd: ctx.dirs.workspace,
		env: ctx.env,
		onOutput: (chunk) => ctx.log.write(chunk),
		signal: ctx.signal,
		graceMs: ctx.graceMs,
	});
	return processOutcome(result, "script");
}
