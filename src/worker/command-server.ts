/**
 * The unix socket the `worker` command talks to. One request per connection: the client
 * sends one JSON line `{args, cwd, key}`, the server answers with JSON lines
 * `{out, stream}`… and a last `{exit}`. The socket is seen only inside its job's sandbox, and
 * `key` — in the job's step environment only — must match: a caller from elsewhere is refused.
 */

import { timingSafeEqual } from "node:crypto";
import { chmod, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import type { CommandContext } from "./commands.ts";

const MAX_REQUEST_BYTES = 1024 * 1024;

export interface CommandServer {
	close(): Promise<void>;
}

function sameKey(given: unknown, key: string): boolean {
	if (typeof given !== "string") return false;
	const a = Buffer.from(given);
	const b = Buffer.from(key);
	return a.length === b.length && timingSafeEqual(a, b);
}

function handle(socket: Socket, key: string, ctx: CommandContext): void {
	let request = "";
	let handled = false;
	const send = (message: object) => {
		if (!socket.destroyed) socket.write(JSON.stringify(message) + "\n");
	};
	socket.setEncoding("utf8");
	socket.on("error", () => {});
	socket.on("data", (chunk: string) => {
		if (handled) return;
		request += chunk;
		const newline = request.indexOf("\n");
		if (newline < 0) {
			if (request.length > MAX_REQUEST_BYTES) socket.destroy();
			return;
		}
		handled = true;
		let parsed: { args?: unknown; cwd?: unknown; key?: unknown };
		try {
			parsed = JSON.parse(request.slice(0, newline));
		} catch {
			send({ out: "worker: malformed request\n", stream: "stderr" });
			socket.end(JSON.stringify({ exit: 2 }) + "\n");
			return;
		}
		if (!sameKey(parsed.key, key)) {
			send({ out: "worker: this socket belongs to another job\n", stream: "stderr" });
			socket.end(JSON.stringify({ exit: 2 }) + "\n");
			return;
		}
		const args = Array.isArray(parsed.args) ? parsed.args.map(String) : [];
		const cwd = typeof parsed.cwd === "string" ? parsed.cwd : "/";
		// Loaded on first use: the commands pull in transfers, globbing and hashing.
		void import("./commands.ts")
			.then(({ runCommand }) => runCommand(args, cwd, ctx, (out, stream) => send({ out, stream })))
			.catch((err: unknown) => {
				send({ out: `worker: ${err instanceof Error ? err.message : String(err)}\n`, stream: "stderr" });
				return 1;
			})
			.then((code) => {
				if (!socket.destroyed) socket.end(JSON.stringify({ exit: code }) + "\n");
			});
	});
}

export async function startCommandServer(
	path: string,
	key: string,
	ctx: CommandContext,
): Promise<CommandServer> {
	await rm(path, { force: true });
	const server: Server = createServer((socket) => handle(socket, key, ctx));
	await new Promise<void>((resolve, reject) => {
		server.once("error", reject);
		server.listen(path, () => resolve());
	});
	await chmod(path, 0o600);
	return {
		close: () =>
			new Promise<void>((resolve) => {
				server.close(() => resolve());
				// Connections of a killed step may linger; they must not keep the worker alive.
				server.unref();
			}),
	};
}
