import type { ProcessResult } from "../process-runner.ts";
import type { ActionResult } from "./context.ts";

/** Why a step was interrupted, carried as the AbortSignal's reason. */
export class StepInterrupt {
	readonly kind: "stop" | "job-timeout" | "step-timeout";
	readonly message: string;
	constructor(kind: "stop" | "job-timeout" | "step-timeout", message: string) {
		this.kind = kind;
		this.message = message;
	}
}

export function processOutcome(result: ProcessResult, what: string): ActionResult {
	if (result.error) return { ok: false, reason: result.error };
	if (result.aborted !== undefined) {
		const reason = result.aborted instanceof StepInterrupt ? result.aborted.message : String(result.aborted);
		return { ok: false, exitCode: result.exitCode ?? undefined, reason };
	}
	if (result.exitCode === 0) return { ok: true, exitCode: 0 };
	if (result.exitCode !== null)
		return { ok: false, exitCode: result.exitCode, reason: `${what} exited with code ${result.exitCode}` };
	return { ok: false, reason: `${what} was killed by ${result.signal}` };
}
