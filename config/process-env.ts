// The one place that reads the process environment. Configuration (`loadConfig`) takes it
// from here; code that hands an environment on to a child process (git, workers) asks for it
// here too, so a grep for `process.env` outside config/ finds nothing (test/unit/config-docs).

/** The environment this process was started with. */
export function hostEnv(): NodeJS.ProcessEnv {
	return process.env;
}

/**
 * Removes variables from this process's environment, so that the processes it starts later
 * (git, workers) never inherit them. /proc/<pid>/environ still shows them: see
 * src/ops/environ-scrub.ts.
 */
export function forgetHostEnv(names: readonly string[]): void {
	for (const name of names) delete process.env[name];
}
