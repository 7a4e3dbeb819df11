/**
 * The `worker` command seen by steps: forwards its arguments to the parent worker over
 * CDS_WORKER_SOCKET and prints what comes back. Deliberately tiny: it starts once per call.
 */

import { connect } from "node:net";
import { hostEnv } from "../../config/process-env.ts";

export function runWorkerClient(args: string[], env: NodeJS.ProcessEnv = hostEnv()): Promise<number> {
	const path = env.CDS_WORKER_SOCKET;
	if (!path) {
		process.stderr.write(
			"worker: CDS_WORKER_SOCKET is not set: this command only works inside a CDS job step\n",
		);
		return Promise.resolve(2);
	}
	return new Promise((resolve) => {
		let buffer = "";
		let exit: number | undefined;
		const socket = connect(path, () => {
			socket.write(JSON.stringify({ args, cwd: process.cwd(), key: env.CDS_WORKER_SOCKET_KEY ?? "" }) + "\n");
		});
		socket.setEncoding("utf8");
		socket.on("data", (chunk: string) => {
			buffer += chunk;
			let newline = buffer.indexOf("\n");
			while (newline >= 0) {
				const line = buffer.slice(0, newline);
				buffer = buffer.slice(newline + 1);
				newline = buffer.indexOf("\n");
				let message: { out?: string; stream?: string; exit?: number };
				try {
					message = JSON.parse(line);
				} catch {
					continue;
				}
				if (typeof message.out === "string") {
					(message.stream === "stderr" ? process.stderr : process.stdout).write(message.out);
				}
				if (typeof message.exit === "number") exit = message.exit;
			}
		});
		socket.on("error", (err) => {
			process.stderr.write(`worker: cannot reach the CDS worker: ${err.message}\n`);
			resolve(1);
		});
		socket.on("close", () => {
			if (exit === undefined) process.stderr.write("worker: the CDS worker closed the connection\n");
			resolve(exit ?? 1);
		});
	});
}
