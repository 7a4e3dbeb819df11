// The CDS-TS worker process, and the `worker` command steps run (any argument means the
// latter). bin/cds-worker.mjs makes sure the Node is recent enough. Heavy modules are loaded
// only by the mode that needs them: start-up time is on the critical path of every job.

const args = process.argv.slice(2);

const role = args.length === 0 ? (await import("../config/process-env.ts")).hostEnv() : {};

if (role.CDS_WORKER_ROLE === "steps") {
	// The step container of a worker pod: it runs the steps the worker sends it.
	const { serveSteps } = await import("../src/sandbox/step-runner.ts");
	const socket = role.CDS_WORKER_STEP_RUNNER ?? "";
	// A deleted pod: its worker, told too, stops the step gracefully and then closes its lifeline,
	// which ends this process; the kubelet's SIGKILL after the grace period bounds it.
	for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => {});
	let code = 2;
	if (socket) code = await serveSteps(socket, (m) => process.stderr.write(`[cds-steps] ${m}\n`));
	else process.stderr.write("cds-steps: CDS_WORKER_STEP_RUNNER (the socket) is not set\n");
	process.exitCode = code;
	process.exit(process.exitCode);
} else if (args.length > 0) {
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
	// Set by bin/cds-worker.mjs, which starts faster than this file (cached stripped modules).
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
