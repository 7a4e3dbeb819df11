// The sandbox layout of a step, checked on the bubblewrap command line (src/sandbox/bwrap-args.ts).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
	bwrapArgs,
	dropPrivileges,
	type StepMounts,
	type TopLevelEntry,
} from "../../src/sandbox/bwrap-args.ts";
import { namespaceSetup, prohibitedRoutes } from "../../src/sandbox/nat.ts";
import { NO_SANDBOX, parsePlan, type SandboxPlan } from "../../src/sandbox/plan.ts";
import { unshareArgs, unshareScript } from "../../src/sandbox/unshare-script.ts";

const ROOT: TopLevelEntry[] = [
	{ name: "bin", symlinkTarget: "usr/bin", isDirectory: false },
	{ name: "etc", isDirectory: true },
	{ name: "home", isDirectory: true },
	{ name: "opt", isDirectory: true },
	{ name: "proc", isDirectory: true },
	{ name: "root", isDirectory: true },
	{ name: "run", isDirectory: true },
	{ name: "tmp", isDirectory: true },
	{ name: "usr", isDirectory: true },
	{ name: "vmlinuz", isDirectory: false },
];

const PLAN: SandboxPlan = {
	kind: "bwrap",
	network: "nat",
	runAs: { uid: 65534, gid: 65534 },
	hide: ["/srv/cds/data", "/srv/cds/data/workers", "/root"],
	expose: ["/srv/cds"],
	share: ["/tmp/cache"],
	tools: { setpriv: "/usr/bin/setpriv" },
};

const JOB = "/srv/cds/data/workers/job-0123456789abcdef0123-abcdef";
const MOUNTS: StepMounts = {
	workspace: `${JOB}/workspace`,
	tmp: `${JOB}/tmp`,
	bin: `${JOB}/bin`,
	socket: `${JOB}/internal/worker.sock`,
	cwd: `${JOB}/workspace`,
	files: [{ fd: 6, name: "step-0.sh", mode: 0o700 }],
	resolvConfFd: 5,
	infoFd: 3,
	blockFd: 4,
	hostRoot: true,
};

/** The [option, …operands] groups of a bwrap command line, in order. */
function ops(args: string[]): string[][] {
	const arity: Record<string, number> = {
		"--ro-bind": 2,
		"--ro-bind-try": 2,
		"--bind-try": 2,
		"--bind": 2,
		"--symlink": 2,
		"--file": 2,
		"--ro-bind-data": 2,
		"--tmpfs": 1,
		"--dir": 1,
		"--proc": 1,
		"--dev": 1,
		"--perms": 1,
		"--hostname": 1,
		"--info-fd": 1,
		"--block-fd": 1,
		"--chdir": 1,
	};
	const out: string[][] = [];
	for (let i = 0; i < args.length; ) {
		const n = arity[args[i]!] ?? 0;
		out.push(args.slice(i, i + 1 + n));
		i += 1 + n;
	}
	return out;
}

const index = (groups: string[][], ...wanted: string[]) =>
	groups.findIndex((g) => g.length === wanted.length && g.every((x, i) => x === wanted[i]));

describe("the bubblewrap layout of a step", () => {
	const groups = ops(bwrapArgs(PLAN, MOUNTS, ROOT));

	test("own PID, IPC, UTS and network namespaces; dies with its worker", () => {
		for (const flag of [
			"--unshare-pid",
			"--unshare-ipc",
			"--unshare-uts",
			"--unshare-net",
			"--die-with-parent",
			"--new-session",
		])
			assert.ok(index(groups, flag) >= 0, flag);
		assert.ok(index(groups, "--proc", "/proc") >= 0, "a /proc of its own namespace");
	});

	test("the host's system directories read-only, homes /tmp and /run empty", () => {
		assert.ok(index(groups, "--ro-bind", "/usr", "/usr") >= 0);
		assert.ok(index(groups, "--ro-bind", "/etc", "/etc") >= 0);
		assert.ok(index(groups, "--symlink", "usr/bin", "/bin") >= 0);
		for (const hidden of ["/home", "/root", "/run", "/tmp"]) {
			assert.ok(index(groups, "--tmpfs", hidden) > 0, hidden);
			assert.equal(index(groups, "--ro-bind", hidden, hidden), -1, hidden);
		}
		assert.equal(index(groups, "--ro-bind", "/proc", "/proc"), -1);
	});

	test("the data directory is hidden after the install is shown, the job's own directories bound after both", () => {
		const install = index(groups, "--ro-bind-try", "/srv/cds", "/srv/cds");
		const data = index(groups, "--tmpfs", "/srv/cds/data");
		const workers = index(groups, "--tmpfs", "/srv/cds/data/workers");
		const workspace = index(groups, "--bind", MOUNTS.workspace, MOUNTS.workspace);
		assert.ok(
			install >= 0 && data > install && workers > data && workspace > workers,
			JSON.stringify(groups),
		);
		assert.equal(index(groups, "--tmpfs", "/root"), index(groups, "--tmpfs", "/root"));
		// The job's directory inside the hidden tree is crossable, not listable.
		const dir = index(groups, "--dir", JOB);
		assert.ok(dir > workers && dir < workspace);
		assert.deepEqual(groups[dir - 1], ["--perms", "0711"]);
	});

	test("an install below a hidden directory: the directories leading to it are crossable before it is bound", () => {
		const g = ops(bwrapArgs({ ...PLAN, expose: ["/tmp/ci/main"] }, MOUNTS, ROOT));
		const dir = index(g, "--dir", "/tmp/ci");
		const bind = index(g, "--ro-bind-try", "/tmp/ci/main", "/tmp/ci/main");
		assert.ok(index(g, "--tmpfs", "/tmp") < dir && dir < bind, JSON.stringify(g));
		assert.deepEqual(g[dir - 1], ["--perms", "0711"]);
	});

	test("no host path is writable but the job's workspace and tmp", () => {
		const writable = groups.filter((g) => g[0] === "--bind").map((g) => g[2]);
		assert.deepEqual(writable, [MOUNTS.workspace, MOUNTS.tmp, "/run/cds/worker.sock"]);
		assert.ok(index(groups, "--bind-try", "/tmp/cache", "/tmp/cache") >= 0, "CDS_SANDBOX_SHARE");
	});

	test("the socket, the worker command and the step's files appear under /run/cds", () => {
		assert.ok(index(groups, "--bind", MOUNTS.socket, "/run/cds/worker.sock") >= 0);
		assert.ok(index(groups, "--ro-bind", MOUNTS.bin, "/run/cds/bin") >= 0);
		const file = index(groups, "--file", "6", "/run/cds/files/step-0.sh");
		assert.deepEqual(groups[file - 1], ["--perms", "0700"]);
		assert.ok(index(groups, "--ro-bind-data", "5", "/etc/resolv.conf") >= 0);
		assert.ok(index(groups, "--block-fd", "4") >= 0 && index(groups, "--info-fd", "3") >= 0);
	});

	test("a root hatchery: no user namespace, and the command drops to the unprivileged user", () => {
		assert.equal(index(groups, "--unshare-user"), -1);
		const command = dropPrivileges(PLAN, "bash", ["-e", "/run/cds/files/step-0.sh"], true);
		assert.equal(command[0], "/bin/sh");
		assert.match(command[2]!, /^chown -R 65534:65534 \/run\/cds\/files && exec "\$@"$/);
		const setpriv = command.slice(4);
		assert.deepEqual(setpriv.slice(0, 8), [
			"/usr/bin/setpriv",
			"--reuid=65534",
			"--regid=65534",
			"--clear-groups",
			"--inh-caps=-all",
			"--bounding-set=-all",
			"--no-new-privs",
			"--",
		]);
		assert.deepEqual(setpriv.slice(8), ["bash", "-e", "/run/cds/files/step-0.sh"]);
	});

	test("a root worker's files written already: shown read-only, neither copied nor handed over in the sandbox", () => {
		const args = bwrapArgs(PLAN, { ...MOUNTS, files: [], filesDir: "/dev/shm/cds-files-x/files" }, ROOT);
		const g = ops(args);
		assert.ok(
			index(g, "--ro-bind", "/dev/shm/cds-files-x/files", "/run/cds/files") > index(g, "--dir", "/run/cds"),
		);
		assert.ok(!args.includes("--file"));
		const writable = g.filter((x) => x[0] === "--bind").map((x) => x[2]);
		assert.deepEqual(writable, [MOUNTS.workspace, MOUNTS.tmp, "/run/cds/worker.sock"]);
		const command = dropPrivileges(PLAN, "bash", ["-e", "/run/cds/files/step-0.sh"], false);
		assert.equal(command[0], "/usr/bin/setpriv");
		assert.deepEqual(command.slice(-3), ["bash", "-e", "/run/cds/files/step-0.sh"]);
	});

	test("an unprivileged hatchery: a user namespace, the command as is", () => {
		const plan = { ...PLAN, runAs: undefined };
		const args = bwrapArgs(plan, { ...MOUNTS, hostRoot: false }, ROOT);
		assert.ok(args.includes("--unshare-user"));
		assert.deepEqual(dropPrivileges(plan, "bash", ["x"], true), ["bash", "x"]);
	});

	test("network host: no network namespace; none: one without NAT", () => {
		assert.ok(!bwrapArgs({ ...PLAN, network: "host" }, MOUNTS, ROOT).includes("--unshare-net"));
		const none = bwrapArgs(
			{ ...PLAN, network: "none" },
			{ ...MOUNTS, resolvConfFd: undefined, blockFd: undefined },
			ROOT,
		);
		assert.ok(none.includes("--unshare-net") && !none.includes("--block-fd"));
	});

	test("a step joining the worker's network namespace makes none of its own, and keeps the worker's ids", () => {
		const joined = bwrapArgs(
			PLAN,
			{ ...MOUNTS, hostRoot: false, joinedNetwork: true, ids: { uid: 1000, gid: 1001 }, blockFd: undefined },
			ROOT,
		);
		assert.ok(!joined.includes("--unshare-net"));
		assert.ok(joined.includes("--unshare-user"));
		const at = joined.indexOf("--uid");
		assert.deepEqual(joined.slice(at, at + 4), ["--uid", "1000", "--gid", "1001"]);
		// As root, no user namespace, so no ids to keep.
		const root = bwrapArgs(
			PLAN,
			{ ...MOUNTS, hostRoot: true, joinedNetwork: true, blockFd: undefined },
			ROOT,
		);
		assert.ok(!root.includes("--unshare-net") && !root.includes("--unshare-user") && !root.includes("--uid"));
	});
});

describe("NAT routes", () => {
	test("the namespace's set-up brings slirp4netns's tap device up, routes through it, and prohibits", () => {
		const lines = namespaceSetup(["192.0.2.2"]);
		assert.deepEqual(lines.slice(0, 3), [
			"link set dev tap0 mtu 65520 up",
			"addr add 10.0.2.100/24 dev tap0",
			"route add default via 10.0.2.2 dev tap0",
		]);
		assert.deepEqual(lines.slice(3), prohibitedRoutes(["192.0.2.2"]));
		// The loopback is bubblewrap's to set up: touching it here would race it.
		assert.ok(!lines.some((l) => /\blo\b/.test(l)));
		// The worker's shared namespace has no bubblewrap to do it: the loopback comes up first.
		assert.deepEqual(namespaceSetup(["192.0.2.2"], true), ["link set dev lo up", ...lines]);
	});

	test("private, loopback, link-local ranges and every address of the host are prohibited", () => {
		const routes = prohibitedRoutes(["192.0.2.2", "203.0.113.7"]);
		for (const range of [
			"10.0.0.0/8",
			"172.16.0.0/12",
			"192.168.0.0/16",
			"169.254.0.0/16",
			"100.64.0.0/10",
			"127.0.0.0/8",
			"192.0.2.2/32",
			"203.0.113.7/32",
		])
			assert.ok(routes.includes(`route add prohibit ${range}`), range);
	});
});

describe("the plan a worker receives", () => {
	test("absent: no sandbox; malformed: refused rather than run unsandboxed", () => {
		assert.deepEqual(parsePlan(undefined), NO_SANDBOX);
		assert.throws(() => parsePlan('{"kind":"chroot"}'), /not a sandbox plan/);
		assert.throws(() => parsePlan("{"));
		assert.deepEqual(parsePlan(JSON.stringify(PLAN)), PLAN);
	});
});

describe("the unshare fallback's setup script", () => {
	const script = unshareScript(PLAN, { ...MOUNTS, jobRoot: JOB, infoFd: 3, blockFd: 4 }, ROOT);
	const lines = script.split("\n");
	const at = (pattern: RegExp) => lines.findIndex((l) => pattern.test(l));

	test("namespaces: PID (killed with its parent), mount, IPC, UTS, network; a user namespace only when not root", () => {
		assert.deepEqual(unshareArgs(PLAN, true), [
			"--pid",
			"--fork",
			"--kill-child",
			"--mount",
			"--ipc",
			"--uts",
			"--mount-proc",
			"--net",
		]);
		assert.ok(unshareArgs(PLAN, false).includes("--map-root-user"));
		assert.ok(!unshareArgs({ ...PLAN, network: "host" }, true).includes("--net"));
	});

	test("host mounts read-only first, then hidden paths, then the job's directories bound back writable", () => {
		const ro = at(/remount,bind,ro "\$m"/);
		const tmp = at(/^mount -t tmpfs -o mode=1777 tmpfs '\/tmp'$/);
		const data = at(/^mount -t tmpfs -o mode=0711 tmpfs '\/srv\/cds\/data'$/);
		const workspace = at(/^mount --no-canonicalize --bind '.\/workspace' /);
		assert.ok(ro >= 0 && ro < tmp && tmp < data && data < workspace, script);
		assert.match(lines[workspace + 1]!, /remount,bind,rw/);
		assert.ok(at(/^mount -t tmpfs -o mode=0711 tmpfs '\/root'$/) > ro);
	});

	test("files come from descriptors, owned by the step's user; the step starts without capabilities after the network", () => {
		assert.ok(at(/^cat <&6 > '\/run\/cds\/files\/step-0.sh'$/) > 0);
		assert.ok(at(/^chown 65534:65534 '\/run\/cds\/files\/step-0.sh'$/) > 0);
		const ready = at(/^echo ready >&3$/);
		const block = at(/^read -r _ <&4$/);
		const start = at(
			/setpriv' --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --ambient-caps=-all --bounding-set=-all --no-new-privs -- "\$@"/,
		);
		assert.ok(ready > 0 && block > ready && start > block, script);
	});
});
