// CPU time spent by process trees (Linux /proc): a process, its live descendants, and what its
// reaped children used (cutime/cstime). A figure that other work on a shared machine barely
// changes, unlike a rate: the benches report CPU per unit of work beside their rates, so a
// measurement taken while other jobs load the machine still says what the work costs.
//
// BENCH_STORE_PIDS (comma-separated, e.g. FerretDB's and PostgreSQL's postmaster) names the
// store servers' trees: their CPU is reported apart from the node's.

import { readdirSync, readFileSync } from "node:fs";

const TICKS_PER_S = 100; // USER_HZ on Linux

interface Stat {
	ppid: number;
	ticks: number;
}

function readStat(pid: number): Stat | null {
	try {
		const text = readFileSync(`/proc/${pid}/stat`, "utf8");
		// The command name (field 2) may hold spaces and parentheses: fields start after the last ')'.
		const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
		const n = (i: number) => Number(fields[i - 3]);
		return { ppid: n(4), ticks: n(14) + n(15) + n(16) + n(17) };
	} catch {
		return null;
	}
}

/** CPU milliseconds used so far by each root's tree (the root, its descendants, their reaped children). */
export function treeCpuMs(roots: number[]): number {
	const stats = new Map<number, Stat>();
	if (process.platform !== "linux") return Number.NaN;
	for (const name of readdirSync("/proc")) {
		const pid = Number(name);
		if (!Number.isInteger(pid)) continue;
		const stat = readStat(pid);
		if (stat) stats.set(pid, stat);
	}
	const inTree = (pid: number): boolean => {
		for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
			if (roots.includes(p)) return true;
			p = stats.get(p)?.ppid ?? 0;
		}
		return false;
	};
	let ticks = 0;
	for (const [pid, stat] of stats) if (inTree(pid)) ticks += stat.ticks;
	return (ticks * 1000) / TICKS_PER_S;
}

/** The store servers' pids from BENCH_STORE_PIDS, or none. */
export function storePids(value: string | undefined): number[] {
	return (value ?? "")
		.split(",")
		.map((s) => Number(s.trim()))
		.filter((n) => Number.isInteger(n) && n > 1);
}

/**
 * CPU milliseconds the whole machine has been busy (all CPUs, /proc/stat: everything but idle and
 * I/O wait). The trees above miss part of what a step's short-lived processes cost, and the
 * kernel's own threads; on a machine doing nothing else, this counts all of it.
 */
export function machineCpuMs(): number {
	if (process.platform !== "linux") return Number.NaN;
	const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
	// cpu user nice system idle iowait irq softirq steal …
	const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
	const busy = [user, nice, system, irq, softirq, steal].reduce<number>((sum, t) => sum + (t ?? 0), 0);
	return (busy * 1000) / TICKS_PER_S;
}

/** A meter over the bench's own tree and the store servers': start, then read after the work. */
export function cpuMeter(roots: number[], stores: number[]) {
	const nodeAt = treeCpuMs(roots);
	const storeAt = stores.length ? treeCpuMs(stores) : 0;
	const machineAt = machineCpuMs();
	return (units: number) => {
		const node = (treeCpuMs(roots) - nodeAt) / units;
		const store = stores.length ? (treeCpuMs(stores) - storeAt) / units : undefined;
		const machine = (machineCpuMs() - machineAt) / units;
		const round = (x: number) => Math.round(x * 100) / 100;
		return {
			node: round(node),
			...(store === undefined ? {} : { store: round(store), total: round(node + store) }),
			// Everything the machine did meanwhile, other work included: on an otherwise idle
			// machine, the work's whole cost.
			machine: round(machine),
		};
	};
}

/**
 * How fast this machine's CPU runs now: milliseconds of a fixed loop (10⁸ additions), median of
 * three. On a shared machine the same code runs up to a third slower in busy hours; a bench's
 * rates and CPU figures are comparable across hours only beside this figure.
 */
export function speedLoopMs(): number {
	const times: number[] = [];
	for (let t = 0; t < 3; t++) {
		const start = process.hrtime.bigint();
		let sum = 0;
		for (let i = 0; i < 100_000_000; i++) sum += i;
		// Read the sum so the loop cannot be dropped as dead code.
		if (sum < 0) throw new Error("unreachable");
		times.push(Number(process.hrtime.bigint() - start) / 1e6);
	}
	return Math.round(times.sort((a, b) => a - b)[1]!);
}
