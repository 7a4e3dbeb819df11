// The attacks of a job on its host, tried for real: a node started as `npm start` starts it
// (its own process, a data directory with master.key, an admin token in its environment),
// a "victim" project runs a job holding a password, and an "attacker" project's steps try to
// get at the server, the victim and the host. Each attack is tried twice: on the default
// configuration, where it must fail, and with CDS_HATCHERY_SANDBOX=none, where it must
// succeed — the proof that the attack itself works and that the sandbox is what stops it.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { apiClient, freePort, waitReady } from "../helpers/server.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const FINAL = new Set(["Success", "Fail", "Stopped", "Skipped"]);
const VICTIM_SECRET = `victim-${randomBytes(12).toString("hex")}`;

interface Node {
	url: string;
	port: number;
	dataDir: string;
	adminToken: string;
	child: ChildProcess;
	api: ReturnType<typeof apiClient>;
	stderr: () => string;
}

async function startNode(extra: Record<string, string>): Promise<Node> {
	const dataDir = mkdtempSync(path.join(tmpdir(), "cds-attacker-"));
	const port = await freePort();
	const adminToken = `admin-${randomBytes(16).toString("hex")}`;
	const env: Record<string, string> = {
		PATH: process.env.PATH ?? "/usr/bin:/bin",
		HOME: process.env.HOME ?? "/root",
		CDS_DATA_DIR: dataDir,
		CDS_API_PORT: String(port),
		CDS_ADMIN_TOKEN: adminToken,
		CDS_HATCHERY_POLL_MS: "100",
		CDS_WORKER_HEARTBEAT_SECONDS: "1",
		LOG_LEVEL: "warn",
		...extra,
	};
	const child = spawn(process.execPath, [path.join(ROOT, "server.ts")], {
		cwd: ROOT,
		env,
		stdio: ["ignore", "ignore", "pipe"],
	});
	let stderr = "";
	child.stderr?.on("data", (d: Buffer) => {
		stderr = (stderr + d.toString()).slice(-20_000);
	});
	const url = `http://127.0.0.1:${port}`;
	await waitReady(url, 30_000).catch((e: Error) => {
		throw new Error(`${e.message}\n${stderr}`);
	});
	return { url, port, dataDir, adminToken, child, api: apiClient(url, adminToken), stderr: () => stderr };
}

async function stopNode(node: Node | undefined): Promise<void> {
	if (!node) return;
	if (node.child.exitCode === null) {
		node.child.kill("SIGTERM");
		await new Promise((r) => node.child.once("exit", r));
	}
	rmSync(node.dataDir, { recursive: true, force: true });
}

async function waitRun(node: Node, project: string, wf: string, n: number, timeoutMs = 90_000) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const r = (await node.api("GET", `/api/v1/projects/${project}/workflows/${wf}/runs/${n}`)).body;
		if (FINAL.has(r.status)) return r;
		if (Date.now() > deadline) throw new Error(`run ${wf} #${n} still ${r.status} after ${timeoutMs} ms`);
		await new Promise((res) => setTimeout(res, 100));
	}
}

async function logs(node: Node, project: string, wf: string, n: number): Promise<string> {
	let text = "";
	let cursor = "";
	for (;;) {
		const page = (
			await node.api(
				"GET",
				`/api/v1/projects/${project}/workflows/${wf}/runs/${n}/logs?limit=5000${cursor ? `&cursor=${cursor}` : ""}`,
			)
		).body;
		if (!Array.isArray(page?.items)) throw new Error(`logs of ${wf} #${n}: ${JSON.stringify(page)}`);
		text += page.items.map((l: { text: string }) => l.text).join("");
		if (!page.next || page.next === cursor) return text;
		cursor = page.next;
	}
}

async function waitLog(node: Node, project: string, wf: string, n: number, marker: string): Promise<void> {
	const deadline = Date.now() + 60_000;
	while (!(await logs(node, project, wf, n)).includes(marker)) {
		if (Date.now() > deadline) throw new Error(`no "${marker}" in ${wf} #${n}`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

function yamlScript(lines: string[]): string {
	return lines.map((l) => `    - ${JSON.stringify(l)}`).join("\n");
}

async function importWorkflow(node: Node, project: string, name: string, lines: string[]): Promise<void> {
	const pip = name.toLowerCase();
	const files = [
		{ path: "w.yml", content: `name: ${name}\nversion: v1.0\npipeline: ${pip}\n` },
		{
			path: `${pip}.pip.yml`,
			content: `version: v1.0\nname: ${pip}\njobs:\n- job: j\n  steps:\n  - script:\n${yamlScript(lines)}\n`,
		},
	];
	const r = await node.api("POST", `/api/v1/projects/${project}/import`, { files });
	assert.equal(r.status, 200, JSON.stringify(r.body));
}

async function startRun(node: Node, project: string, wf: string): Promise<number> {
	let r = await node.api("POST", `/api/v1/projects/${project}/workflows/${wf}/runs`, {});
	// Right after start, the gateway may answer 503 or 404 until every service is registered.
	for (let i = 0; i < 150 && (r.status === 503 || r.status === 404); i++) {
		await new Promise((res) => setTimeout(res, 100));
		r = await node.api("POST", `/api/v1/projects/${project}/workflows/${wf}/runs`, {});
	}
	assert.equal(r.status, 201, `${wf}: ${JSON.stringify(r.body)}`);
	return r.body.number;
}

function processesMatching(marker: string): number[] {
	const found: number[] = [];
	for (const entry of readdirSync("/proc")) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(marker)) found.push(Number(entry));
		} catch {
			/* gone */
		}
	}
	return found;
}

function hostAddress(): string | undefined {
	return Object.values(networkInterfaces())
		.flat()
		.find((a) => a && a.family === "IPv4" && !a.internal)?.address;
}

/** Lines `ATTACK:<name>:SUCCEEDED:<evidence>` / `ATTACK:<name>:FAILED` of the attacker's log. */
function outcomes(text: string): Map<string, { ok: boolean; evidence: string }> {
	const found = new Map<string, { ok: boolean; evidence: string }>();
	for (const m of text.matchAll(/^ATTACK:([a-z-]+):(SUCCEEDED|FAILED):?(.*)$/gm))
		found.set(m[1]!, { ok: m[2] === "SUCCEEDED", evidence: m[3] ?? "" });
	return found;
}

interface Findings {
	attacks: Map<string, { ok: boolean; evidence: string }>;
	attackerLog: string;
	survivor: number[];
	orphan: number[];
	jobDirsAfterKill: string[];
	/** A root worker's step files in /dev/shm of this node's jobs, before and after the kill. */
	stepFilesBeforeKill: string[];
	stepFilesAfterKill: string[];
	node: Node;
}

/** Runs the whole scenario on one node configuration. */
async function attack(extra: Record<string, string>): Promise<Findings> {
	const node = await startNode(extra);
	try {
		const id = randomBytes(4).toString("hex");
		for (const key of ["VICTIM", "ATTACKER"])
			assert.equal((await node.api("POST", "/api/v1/projects", { key, name: key })).status, 201);
		await node.api("POST", "/api/v1/projects/VICTIM/variables", {
			name: "pw",
			type: "password",
			value: VICTIM_SECRET,
		});
		// The victim: a job that holds a secret and waits, its workspace and socket in place.
		await importWorkflow(node, "VICTIM", "HOLD", [
			`echo victim-file-${id} > "$HOME/marker.txt"`,
			"echo victim ready",
			"sleep 60",
		]);
		const victimRun = await startRun(node, "VICTIM", "HOLD");
		await waitLog(node, "VICTIM", "HOLD", victimRun, "victim ready");

		const ports = [String(node.port)];
		for (const v of [process.env.NATS_URL, process.env.MONGO_URL]) {
			const port = v ? /:(\d+)(?:\/|$)/.exec(v)?.[1] : undefined;
			if (port) ports.push(port);
		}
		const host = hostAddress();
		const targets = ports.flatMap((p) => [`127.0.0.1/${p}`, ...(host ? [`${host}/${p}`] : [])]);
		const data = node.dataDir;
		await importWorkflow(node, "ATTACKER", "STEAL", [
			"set +e",
			// The server's environment: its pid is found by its command line.
			`found=""; for p in $(grep -l server.ts /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do env=$(tr '\\0' '\\n' < /proc/$p/environ 2>/dev/null); if echo "$env" | grep -q "^CDS_API_PORT=${node.port}$"; then found=$(echo "$env" | base64 -w0); fi; done; [ -n "$found" ] && echo "ATTACK:server-environ:SUCCEEDED:$found" || echo "ATTACK:server-environ:FAILED"`,
			// The data directory, found two levels above the workspace, and the master key in it.
			`if ls "$HOME/../../.." | grep -q master.key; then echo "ATTACK:data-directory:SUCCEEDED:$(ls "$HOME/../../.." | tr '\\n' ' ')"; else echo "ATTACK:data-directory:FAILED"; fi`,
			`k=$(base64 -w0 < "${data}/master.key" 2>/dev/null) && [ -n "$k" ] && echo "ATTACK:master-key:SUCCEEDED:$k" || echo "ATTACK:master-key:FAILED"`,
			// Another job's workspace.
			`v=$(cat "${data}"/workers/job-*/workspace/marker.txt 2>/dev/null) && [ -n "$v" ] && echo "ATTACK:other-workspace:SUCCEEDED:$v" || echo "ATTACK:other-workspace:FAILED"`,
			// Another job's worker socket, with its key taken from that job's processes.
			`echo '{{.cds.proj.pw}}' > in.txt; got=""; for s in "${data}"/workers/job-*/internal/worker.sock; do for k in $(cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | grep '^CDS_WORKER_SOCKET_KEY=' | cut -d= -f2 | sort -u); do CDS_WORKER_SOCKET="$s" CDS_WORKER_SOCKET_KEY="$k" worker tmpl in.txt out.txt 2>/dev/null && grep -qv '{{' out.txt && got=$(base64 -w0 < out.txt); done; done; [ -n "$got" ] && echo "ATTACK:other-socket:SUCCEEDED:$got" || echo "ATTACK:other-socket:FAILED"`,
			// The API, the store and NATS: on loopback and on this host's address.
			`reached=""; for t in ${targets.join(" ")}; do timeout 3 bash -c "exec 3<>/dev/tcp/$t" 2>/dev/null && reached="$reached $t"; done; [ -n "$reached" ] && echo "ATTACK:host-network:SUCCEEDED:$reached" || echo "ATTACK:host-network:FAILED"`,
			// A process that outlives its job.
			`setsid bash -c 'exec -a cds-survivor-${id} sleep 120' </dev/null >/dev/null 2>&1 &`,
			"sleep 0.5; echo attacker done",
		]);
		const n = await startRun(node, "ATTACKER", "STEAL");
		const run = await waitRun(node, "ATTACKER", "STEAL", n);
		assert.ok(FINAL.has(run.status));
		const attackerLog = await logs(node, "ATTACKER", "STEAL", n);
		await new Promise((r) => setTimeout(r, 1500));
		const survivor = processesMatching(`cds-survivor-${id}`);

		// kill -9 of the victim's worker: what its step started must die with it.
		await importWorkflow(node, "VICTIM", "ORPHAN", [`exec -a cds-orphan-${id} sleep 120`]);
		const orphanRun = await startRun(node, "VICTIM", "ORPHAN");
		const deadline = Date.now() + 60_000;
		while (processesMatching(`cds-orphan-${id}`).length === 0 && Date.now() < deadline)
			await new Promise((r) => setTimeout(r, 100));
		const workers = processesMatching("cds-worker").filter((pid) => {
			try {
				return readFileSync(`/proc/${pid}/environ`, "utf8").includes(`CDS_WORKER_BASEDIR=${data}`);
			} catch {
				return false;
			}
		});
		// A root worker's step files (its script) in memory, named after the job's directory.
		const jobDirsBefore = existsSync(path.join(data, "workers"))
			? readdirSync(path.join(data, "workers"))
			: [];
		const stepFilesOfNode = () =>
			readdirSync("/dev/shm").filter((f) => jobDirsBefore.some((d) => f.startsWith(`cds-files-${d}-`)));
		const stepFilesBeforeKill = stepFilesOfNode();
		for (const pid of workers) process.kill(pid, "SIGKILL");
		await waitRun(node, "VICTIM", "ORPHAN", orphanRun, 60_000);
		await new Promise((r) => setTimeout(r, 1500));
		const orphan = processesMatching(`cds-orphan-${id}`);
		for (const pid of [...survivor, ...orphan]) {
			try {
				process.kill(pid, "SIGKILL");
			} catch {
				/* gone */
			}
		}
		const workersDir = path.join(data, "workers");
		const jobDirsAfterKill = existsSync(workersDir)
			? readdirSync(workersDir).filter((d) => d.startsWith("job-"))
			: [];
		const stepFilesAfterKill = stepFilesOfNode();
		return {
			attacks: outcomes(attackerLog),
			attackerLog,
			survivor,
			orphan,
			jobDirsAfterKill,
			stepFilesBeforeKill,
			stepFilesAfterKill,
			node,
		};
	} catch (e) {
		await stopNode(node);
		throw e;
	}
}

describe("a job's attacks on its host", () => {
	// bubblewrap (the default), the util-linux unshare fallback, and no sandbox at all.
	const sandboxes: Array<[string, Findings]> = [];
	let open: Findings;
	before(async () => {
		sandboxes.push(["bwrap", await attack({})]);
		sandboxes.push(["unshare", await attack({ CDS_HATCHERY_SANDBOX: "unshare" })]);
		open = await attack({ CDS_HATCHERY_SANDBOX: "none" });
	});
	after(async () => {
		for (const [, found] of sandboxes) await stopNode(found.node);
		await stopNode(open?.node);
	});

	const decoded = (evidence: string) => Buffer.from(evidence, "base64").toString("utf8");
	const blocked = (attack: string) => {
		for (const [kind, found] of sandboxes)
			assert.equal(found.attacks.get(attack)?.ok, false, `${kind}: ${found.attackerLog}`);
	};

	test("the server's environment: unreadable in the sandbox, and never holding the admin token", () => {
		blocked("server-environ");
		const leak = open.attacks.get("server-environ");
		assert.equal(leak?.ok, true, open.attackerLog);
		assert.match(decoded(leak.evidence), /CDS_API_PORT=/);
		assert.ok(
			!decoded(leak.evidence).includes(open.node.adminToken),
			"the admin token is out of the server's environ",
		);
		for (const [, found] of sandboxes) assert.ok(!found.attackerLog.includes(found.node.adminToken));
	});

	test("the data directory and master.key: invisible in the sandbox", () => {
		blocked("data-directory");
		blocked("master-key");
		assert.equal(open.attacks.get("data-directory")?.ok, true, open.attackerLog);
		const key = open.attacks.get("master-key");
		assert.equal(key?.ok, true, open.attackerLog);
		assert.equal(key.evidence, readFileSync(path.join(open.node.dataDir, "master.key")).toString("base64"));
	});

	test("another job's workspace: invisible in the sandbox", () => {
		blocked("other-workspace");
		assert.match(open.attacks.get("other-workspace")?.evidence ?? "", /^victim-file-/, open.attackerLog);
	});

	test("another job's worker socket: unreachable in the sandbox", () => {
		blocked("other-socket");
		const stolen = open.attacks.get("other-socket");
		assert.equal(stolen?.ok, true, open.attackerLog);
		assert.equal(decoded(stolen.evidence).trim(), VICTIM_SECRET);
	});

	test("the API, the store and NATS on this host: unreachable from a sandboxed step", () => {
		blocked("host-network");
		assert.equal(open.attacks.get("host-network")?.ok, true, open.attackerLog);
	});

	test("a background process started with setsid dies with its job", () => {
		for (const [kind, found] of sandboxes) assert.deepEqual(found.survivor, [], kind);
		assert.notDeepEqual(open.survivor, [], "unsandboxed, a setsid process outlives its job");
	});

	test("kill -9 of a worker: its step's processes die, its job directory and step files are removed", () => {
		for (const [kind, found] of sandboxes) {
			assert.deepEqual(found.orphan, [], kind);
			assert.deepEqual(found.jobDirsAfterKill, [], kind);
			assert.deepEqual(found.stepFilesAfterKill, [], kind);
		}
		const bwrap = sandboxes.find(([kind]) => kind === "bwrap")?.[1];
		assert.ok((bwrap?.stepFilesBeforeKill.length ?? 0) > 0, "the killed step's files were in memory");
		assert.notDeepEqual(open.orphan, [], "unsandboxed, the step of a killed worker lives on");
	});

	test("the sandboxed nodes printed no error about their sandbox", () => {
		for (const [kind, found] of sandboxes)
			assert.doesNotMatch(found.node.stderr(), /cannot start the step's sandbox|bwrap:|unshare:/, kind);
	});
});

// A warm worker's steps share one NAT network namespace (src/sandbox/worker-network.ts): what
// one job does to it must not reach the worker's next job.
describe("the network namespace a warm worker's jobs share", () => {
	let node: Node;
	let first = "";
	let second = "";
	before(async () => {
		// One worker, for many jobs: both jobs run on it, one after the other.
		node = await startNode({ CDS_HATCHERY_JOBS_PER_WORKER: "10", CDS_HATCHERY_MAX_WORKERS: "1" });
		assert.equal((await node.api("POST", "/api/v1/projects", { key: "NET", name: "NET" })).status, 201);
		const port = 20_000 + Math.floor(Math.random() * 20_000);
		const ip = "IP=$(command -v ip || echo /usr/sbin/ip)";
		const netConfig = `${ip}; changed=""; $IP route del prohibit 10.0.0.0/8 2>/dev/null && changed="$changed route"; $IP link set lo down 2>/dev/null && changed="$changed lo"; $IP addr add 10.0.2.101/24 dev tap0 2>/dev/null && changed="$changed addr"; [ -n "$changed" ] && echo "ATTACK:net-config:SUCCEEDED:$changed" || echo "ATTACK:net-config:FAILED"`;
		await importWorkflow(node, "NET", "LEAVE", [
			"set +e",
			'echo "NETNS:$(readlink /proc/self/ns/net)"',
			`${ip}; $IP route | grep -q '^prohibit 10.0.0.0/8' && echo ROUTES:present`,
			netConfig,
			// A listener left behind, detached from the step.
			`setsid python3 -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',${port})); s.listen(); time.sleep(120)" </dev/null >/dev/null 2>&1 &`,
			`sleep 0.5; (exec 3<>/dev/tcp/127.0.0.1/${port}) 2>/dev/null && echo LISTENER:up`,
		]);
		await importWorkflow(node, "NET", "FIND", [
			"set +e",
			'echo "NETNS:$(readlink /proc/self/ns/net)"',
			`${ip}; $IP route | grep -q '^prohibit 10.0.0.0/8' && echo ROUTES:present`,
			`(exec 3<>/dev/tcp/127.0.0.1/${port}) 2>/dev/null && echo "ATTACK:leftover-listener:SUCCEEDED" || echo "ATTACK:leftover-listener:FAILED"`,
		]);
		const a = await startRun(node, "NET", "LEAVE");
		await waitRun(node, "NET", "LEAVE", a);
		first = await logs(node, "NET", "LEAVE", a);
		const b = await startRun(node, "NET", "FIND");
		await waitRun(node, "NET", "FIND", b);
		second = await logs(node, "NET", "FIND", b);
	});
	after(async () => {
		await stopNode(node);
	});

	test("both jobs ran in the same network namespace, with the prohibited routes in place", () => {
		const netns = (log: string) => /NETNS:(net:\[\d+\])/.exec(log)?.[1];
		assert.ok(netns(first), first);
		assert.equal(netns(second), netns(first), `${first}\n---\n${second}`);
		assert.match(first, /ROUTES:present/);
		assert.match(second, /ROUTES:present/);
		assert.match(first, /LISTENER:up/, "the listener was up while its job ran");
	});

	test("a step cannot change the shared namespace's routes, links or addresses", () => {
		assert.equal(outcomes(first).get("net-config")?.ok, false, first);
	});

	test("a listener left by a job is gone when the next job runs", () => {
		assert.equal(outcomes(second).get("leftover-listener")?.ok, false, second);
	});
});
