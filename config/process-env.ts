// The one place that reads the process environment. Configuration (`loadConfig`) takes it
// from here; code that hands an environment on to a child process (git, workers) asks for it
// here too, so a grep for `process.env` outside config/ finds nothing (test/unit/config-docs).

/** The environment this process was started with. */
export function hostEnv(): NodeJS.ProcessEnv {
	return process.env;
}
