// User-mode NAT for a step's network namespace (CDS_SANDBOX_NETWORK=nat): slirp4netns gives
// the namespace a tap device whose traffic leaves through sockets of the host, so builds can
// fetch dependencies; --disable-host-loopback keeps the host's 127.0.0.1 out of reach, and
// `prohibit` routes, set from outside before the step runs (it holds no capability to
// remove them), keep private ranges and every address of the host out of reach too: the
// store, NATS and the API are reached by no step, only by the worker.
// slirp4netns only creates the tap device (no --configure): its configuring brings the loopback
// up, which races bubblewrap's own loopback set-up, and waiting for that cost a poll of /proc
// per step. One `ip -batch` configures the tap device and the routes instead, so a step's
// network costs two helpers (slirp4netns, nsenter → ip) and no waiting but for their reports.

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { networkInterfaces } from "node:os";
import type { Writable } from "node:stream";
import { PROHIBITED_RANGES, type SandboxTools } from "./plan.ts";

export const NAT_RESOLV_CONF = "nameserver 10.0.2.3\n";
const TAP = "tap0";
const MTU = 65520;
/** slirp4netns's default network: the step is .100, the gateway .2, its DNS forwarder .3. */
const TAP_ADDRESS = "10.0.2.100/24";
const GATEWAY = "10.0.2.2";
const SETUP_TIMEOUT_MS = 10_000;

export interface Nat {
	close(): void;
}

/**
 * The `ip -batch` lines of a step's namespace: the tap device up with its address and the
 * default route through slirp4netns, then the prohibited routes.
 */
export function namespaceSetup(hostAddresses: readonly string[], loopback = false): string[] {
	return [
		// A namespace bubblewrap made has its loopback up already; the worker's shared one not.
		...(loopback ? ["link set dev lo up"] : []),
		`link set dev ${TAP} mtu ${MTU} up`,
		`addr add ${TAP_ADDRESS} dev ${TAP}`,
		`route add default via ${GATEWAY} dev ${TAP}`,
		...prohibitedRoutes(hostAddresses),
	];
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

export interface NatOptions {
	/** Bring the namespace's loopback up too. */
	loopback?: boolean;
	/** Called if slirp4netns ends while in use. */
	onExit?: () => void;
}

/** Attaches NAT to the network namespace of `pid` and resolves once the routes are in place. */
export async function attachNat(
	pid: number,
	tools: SandboxTools,
	userNamespace: boolean,
	options: NatOptions = {},
): Promise<Nat> {
	const slirp = tools.slirp4netns;
	const nsenter = tools.nsenter;
	const ip = tools.ip;
	if (!slirp || !nsenter || !ip) throw new Error("NAT needs slirp4netns, nsenter and ip");
	const args = [`--mtu=${MTU}`, "--disable-host-loopback", "--ready-fd=3", "--exit-fd=4"];
	if (userNamespace) args.push(`--userns-path=/proc/${pid}/ns/user`);
	args.push(String(pid), TAP);
	const child: ChildProcess = spawn(slirp, args, { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
	if (options.onExit) child.once("exit", options.onExit);
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
		await run(
			nsenter,
			[...enter, ip, "-batch", "-"],
			`${namespaceSetup(hostIPv4(), options.loopback).join("\n")}\n`,
		);
		return nat;
	} catch (err) {
		nat.close();
		throw err;
	}
}
