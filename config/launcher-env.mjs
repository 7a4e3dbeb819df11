// The process environment for the plain-JavaScript launchers (bin/*.mjs), which must start on
// any Node and so cannot load config/process-env.ts; everything else uses that module.

/** The environment this process was started with (the live object: launchers add to it). */
export function hostEnv() {
	return process.env;
}
