// User-mode NAT for a step's network namespace (CDS_SANDBOX_NETWORK=nat): slirp4netns gives
// the namespace a tap device whose traffic leaves through sockets of the host, so builds can
// fetch dependencies; --disable-host-loopback keeps the host's 127.0.0.1 out of reach, and
// `prohibit` routes, set from outside before the step runs (it holds no capability to
// remove them), keep private ranges and every address of the host out of reach too: the
// store, NATS and the API are reached by no step, only by the worker.

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import type { Writable } from "node:stream";
import { PROHIBITED_RANGES, type SandboxTools } from "./plan.ts";

export const NAT_RESOLV_CONF = "nameserver 10.0.2.3\n";
const SETUP_TIMEOUT_MS = 10_000;

export interface Nat {
	close(): void;
}

/** The routes a step's namespace gets: the fixed ranges, and each IPv4 address of the host. */
export function prohibitedRoutes(hostAddresses: readonly string[]): string[] {
	const routes = [...PROHIBITED_RANGES, ...hostAddresses.map((a) => `${a}/32`)];
	return [...new Set(routes)].map((r) => `route add prohibit ${r}`);
}

function hostIPv4(): string[] {
	return Object.values(networkInterfaces())
		.flat()
		.filter((a) => a !== undefined && a.family === "IPv4")
		.map((a) => a!.address);
}

function run(file: string, args: string[], input: string): Promise<void> {
	return new Promise((resolve, reject) => {
		const child = execFile(file, args, { timeout: SETUP_TIMEOUT_MS }, (err, _out, stderr) =>
			err ? reject(new Error(`${file}: ${String(stderr).trim() || err.message}`)) : resolve(),
		);
		child.stdin?.end(input);
	});
}

/**
 * bubblewrap reports the sandbox's pid while it still sets up the namespace's loopback; NAT
 * set up meanwhile makes that fail. The loopback is up once its local routes exist.
 */
async function loopbackUp(pid: number): Promise<void> {
	const deadline = Date.now() + SETUP_TIMEOUT_MS;
	for (;;) {
		try {
			if ((await readFile(`/proc/${pid}/net/fib_trie`, "utf8")).includes("127.0.0.1")) return;
		} catch {
			throw new Error("the sandbox ended before its network was set up");
		}
		if (Date.now() > deadline) throw new Error("the sandbox's loopback did not come up");
		await new Promise((resolve) => setTimeout(resolve, 2));
	}
}

/** Attaches NAT to the network namespace of `pid` and resolves once the routes are in place. */
export async function attachNat(pid: number, tools: SandboxTools, userNamespace: boolean): Promise<Nat> {
	const slirp = tools.slirp4netns;
	const nsenter = tools.nsenter;
	const ip = tools.ip;
	if (!slirp || !nsenter || !ip) throw new Error("NAT needs slirp4netns, nsenter and ip");
	await loopbackUp(pid);
	const args = ["--configure", "--mtu=65520", "--disable-host-loopback", "--ready-fd=3", "--exit-fd=4"];
	if (userNamespace) args.push(`--userns-path=/proc/${pid}/ns/user`);
	args.push(String(pid), "tap0");
	const child: ChildProcess = spawn(slirp, args, { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
	const exitPipe = child.stdio[4] as Writable;
	exitPipe.on("error", () => {});
	let stderr = "";
	child.stderr?.on("data", (d: Buffer) => {
		stderr = (stderr + d.toString()).slice(-2000);
	});
	const nat: Nat = {
		close() {
			exitPipe.destroy();
			if (child.exitCode === null) child.kill("SIGKILL");
		},
	};
	try {
		const ready = once(child.stdio[3]!, "data");
		const failed = once(child, "exit").then(() => {
			throw new Error(`slirp4netns ended: ${stderr.trim().split("\n").pop() ?? ""}`);
		});
		failed.catch(() => {}); // after the race, the helper's exit is close()'s business
		const timeout = new Promise<never>((_, reject) =>
			setTimeout(() => reject(new Error("slirp4netns did not get ready")), SETUP_TIMEOUT_MS).unref(),
		);
		await Promise.race([ready, failed, timeout]);
		const enter = ["-t", String(pid), "-n"];
		if (userNamespace) enter.push("-U", "--preserve-credentials");
		await run(nsenter, [...enter, ip, "-batch", "-"], `${prohibitedRoutes(hostIPv4()).join("\n")}\n`);
		return nat;
	} catch (err) {
		nat.close();
		throw err;
	}
}
