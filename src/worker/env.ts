/**
 * The environment of a step: nothing of the worker's own environment (no token, no server
 * settings) except PATH and LANG; HOME is the workspace; the job's variables become
 * CDS_PROJECT, GIT_BRANCH…
 */

import { varsToEnv } from "../run/interpolate.ts";

export interface StepEnvInput {
	vars: Record<string, string>;
	workspace: string;
	tmp: string;
	bin: string;
	socket: string;
	/** Proves to the worker socket that the caller is a step of this job. */
	socketKey: string;
	/** The worker's PATH and LANG (defaults when unset). */
	path: string | undefined;
	lang: string | undefined;
}

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export function buildStepEnv(input: StepEnvInput): Record<string, string> {
	return {
		...varsToEnv(input.vars),
		PATH: `${input.bin}:${input.path || DEFAULT_PATH}`,
		HOME: input.workspace,
		LANG: input.lang || "C.UTF-8",
		TMPDIR: input.tmp,
		CDS_WORKER_SOCKET: input.socket,
		CDS_WORKER_SOCKET_KEY: input.socketKey,
	};
}
