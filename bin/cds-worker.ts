// The CDS-TS worker process, and the `worker` command steps run (any argument means the
// latter). bin/cds-worker.mjs makes sure the Node is recent enough. Heavy modules are loaded
// only by the mode that needs them: start-up time is on the critical path of every job.

const args = process.argv.slice(2);

if (args.length > 0) {
	const { runWorkerClient } = await import("../src/worker/command-client.ts");
	process.exitCode = await runWorkerClient(args);
} else {
	const stop = new AbortController();
	for (const signal of ["SIGTERM", "SIGINT"] as const) {
		process.on(signal, () => stop.abort(signal));
	}
	const { main } = await import("../src/worker/main.ts");
	const { hostEnv } = await import("../config/process-env.ts");
	const host = hostEnv();
	const env = { ...host };
	// Set by bin/cds-worker.mjs, whose cached modules start faster than this file.
	const script = host.CDS_WORKER_LAUNCHER ?? import.meta.filename;
	delete host.CDS_WORKER_LAUNCHER;
	// The hatchery that started this worker may be gone (killed, restarting): its pipes then
	// break, and the job must still finish and report. A failed write is not a reason to die.
	process.stdout.on("error", () => {});
	process.stderr.on("error", () => {});
	let code: number;
	try {
		code = await main({
			env,
			io: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
			script,
			signal: stop.signal,
		});
	} catch (err) {
		process.stderr.write(`cds-worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
		code = 1;
	}
	// Keep-alive sockets or a half-read stdin must not keep a finished worker alive (nor a
	// broken stdout: the write's callback may never come).
	process.exitCode = code;
	setTimeout(() => process.exit(code), 1000).unref();
	process.stdout.write("", () => process.exit(code));
}
