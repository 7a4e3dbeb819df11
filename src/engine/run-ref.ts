// How users name a run: its number (`4`, the latest sub-run of run 4) or a sub-run (`4.1`, the
// first restart; `4.0`, the run as it first ran). The API and the CLI accept both.

import type { RunDoc } from "../../schemas/run.ts";
import { RunNotFoundError } from "./errors.ts";
import type { RunRepository } from "./run-repository.ts";

/** A run number, or a number and a sub-run: what `:number` in the API and RUN in the CLI accept. */
export const RUN_REF_PATTERN = /^[1-9][0-9]{0,14}(\.[0-9]{1,6})?$/;

export interface RunRef {
	number: number;
	/** Absent: the latest sub-run of the number. */
	sub?: number;
}

/** `4` → {number: 4}, `4.1` → {number: 4, sub: 1}; undefined when it is neither. */
export function parseRunRef(raw: string | number): RunRef | undefined {
	const text = String(raw).trim();
	if (!RUN_REF_PATTERN.test(text)) return undefined;
	const [number, sub] = text.split(".");
	const ref: RunRef = { number: Number(number) };
	if (!Number.isSafeInteger(ref.number)) return undefined;
	if (sub !== undefined) ref.sub = Number(sub);
	return ref;
}

/** `#4`, `#4.1`: how messages name a run reference. */
export function runRefLabel(ref: RunRef): string {
	return ref.sub === undefined ? `#${ref.number}` : `#${ref.number}.${ref.sub}`;
}

/** The run `ref` names, or RunNotFoundError (`run W #4.2`). */
export async function findRunByRef(
	repo: RunRepository,
	project: string,
	workflow: string,
	ref: RunRef,
): Promise<RunDoc> {
	const run = await repo.findRun(project, workflow, ref.number, ref.sub);
	if (!run)
		throw new RunNotFoundError(`run ${workflow} ${runRefLabel(ref)}`, {
			project,
			workflow,
			number: ref.number,
			...(ref.sub === undefined ? {} : { sub: ref.sub }),
		});
	return run;
}
