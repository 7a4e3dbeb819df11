// Command-line inputs of a run: `-p name=value` parameters, the `--payload JSON|@file` and
// run numbers. Mistakes are usage/validation errors (exit 2) with a message naming the input.

import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseRunRef } from "../engine/run-ref.ts";
import { UsageError, ValidationError } from "./errors.ts";

/**
 * `-p name=value` flags as a record. The value is everything after the first `=` (it may hold
 * more `=` or be empty); the name must not be empty nor contain spaces, and may appear once.
 */
export function parseParams(flags: readonly string[]): Record<string, string> {
	const params: Record<string, string> = {};
	for (const flag of flags) {
		const eq = flag.indexOf("=");
		const name = eq === -1 ? "" : flag.slice(0, eq);
		if (eq === -1 || name === "" || /\s/.test(name)) {
			throw new UsageError(`invalid -p "${flag}": expected name=value, e.g. -p git.branch=master`);
		}
		if (Object.hasOwn(params, name)) throw new UsageError(`-p ${name} is given more than once`);
		params[name] = flag.slice(eq + 1);
	}
	return params;
}

/** The value of `--payload`: inline JSON, or `@path` to read JSON from a file (relative to cwd). */
export async function parsePayload(raw: string, cwd: string): Promise<unknown> {
	let text = raw;
	let source = "--payload";
	if (raw.startsWith("@")) {
		const path = resolve(cwd, raw.slice(1));
		source = `payload file ${raw.slice(1)}`;
		try {
			text = await readFile(path, "utf8");
		} catch (err) {
			const code = (err as NodeJS.ErrnoException).code;
			throw new ValidationError(
				`cannot read ${source}: ${code === "ENOENT" ? "no such file" : (err as Error).message}`,
			);
		}
	}
	try {
		return JSON.parse(text);
	} catch (err) {
		throw new ValidationError(`${source} is not valid JSON: ${(err as Error).message}`);
	}
}

/**
 * A run given on the command line: its number (`4`, the latest sub-run of run 4) or a sub-run
 * (`4.1`). Returned as the API's `:number` takes it.
 */
export function parseRunNumber(raw: string, what = "run number"): string {
	const ref = parseRunRef(raw);
	if (!ref) throw new UsageError(`invalid ${what} "${raw}": expected a run number (4) or a sub-run (4.1)`);
	return ref.sub === undefined ? String(ref.number) : `${ref.number}.${ref.sub}`;
}
