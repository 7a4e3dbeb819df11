// A STAND-IN for a Mesos master and its agents, for the Mesos suites (Mesos does not install
// here). It follows the v1 scheduler HTTP API (docs/scheduler-http-api.md of Apache Mesos;
// messages of include/mesos/v1/scheduler/scheduler.proto and include/mesos/v1/mesos.proto in
// their JSON mapping): POST /api/v1/scheduler; SUBSCRIBE answered by a chunked RecordIO stream
// (SUBSCRIBED first, a `Mesos-Stream-Id` header, HEARTBEAT events); every other call checked
// against that stream id (400 on a mismatch, 403 when not subscribed) and answered 202. Every
// call it receives and every event it sends is validated against ./schema.ts (unknown fields
// refused); the violations are kept for the tests to assert there are none.
//
// What it models: fake agents with cpus/mem and attributes, offered to each subscribed
// framework (one outstanding offer per agent and framework) unless suppressed or filtered
// (DECLINE/ACCEPT `refuse_seconds`, cleared by REVIVE); ACCEPT + LAUNCH runs each task's
// command (shell or argv, its environment variables, PATH of the agent) as a local process in a
// sandbox directory of its own; status updates TASK_STARTING, TASK_RUNNING, then TASK_FINISHED /
// TASK_FAILED / TASK_KILLED, each with a uuid, re-sent until ACKNOWLEDGEd, in order per task;
// KILL (SIGTERM to the process group, SIGKILL after a grace); explicit and implicit RECONCILE
// (REASON_RECONCILIATION, no uuid; unknown tasks TASK_UNKNOWN to a PARTITION_AWARE framework,
// else TASK_LOST); TEARDOWN; a framework whose stream breaks is kept for its failover_timeout,
// then removed with its tasks killed; a SUBSCRIBE with a removed framework's id gets an ERROR
// event; a second SUBSCRIBE of a framework closes its first stream.
// Faults: `failover()` (the leading endpoint goes down, a standby endpoint that answered 307 to
// it becomes the leader, frameworks must re-subscribe, outstanding offers are gone);
// `rescindNextAccept()` (the next ACCEPT finds its offer rescinded: RESCIND, then TASK_DROPPED
// with REASON_INVALID_OFFERS); `loseTask(id)` (its process is killed unheard, TASK_LOST);
// `loseAgent(id)` (its tasks die, FAILURE + TASK_UNREACHABLE with REASON_AGENT_REMOVED, its
// offers rescinded); `machineDies(id)` (the agent's machine dies unheard: its tasks' processes
// are killed, and the master, which notices only when the agent misses its health checks —
// agent_ping_timeout × max_agent_ping_timeouts, 75 s by default —, keeps the tasks TASK_RUNNING,
// to reconciliations too, sends nothing and offers the agent no more, until the test calls
// `loseAgent(id)`: the removal); `silence()` (the stream stays open but carries nothing, heartbeats
// included, until the framework re-subscribes); `holdNextCall(type, ms)` (the next call of that
// type is neither handled nor answered for `ms`: a call on a slow connection, which calls sent
// after it on other connections overtake — HTTP gives separate requests no order);
// `pauseOffers(true|false)` (no offer round until resumed: a long allocation interval).
// What it does NOT model: ZooKeeper and master election (the standby is told), the agents'
// own registration, checkpointing and recovery, executors (every task runs under a built-in
// command executor: no custom executors, task groups, SHUTDOWN or MESSAGE from executors),
// containers and images, disk/ports/GPU resources, roles beyond the one subscribed, quotas,
// weights and the DRF allocator (offers go out on a timer, every free agent each time),
// reservations and volumes, inverse offers (maintenance), health checks, authentication (the
// Authorization header is recorded, not checked), the protobuf encoding, gzip, and resource
// limits (nothing is enforced on the processes).

import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { encodeRecord } from "../../../src/mesos/recordio.ts";
import { SchemaError, validateCall, validateEvent } from "./schema.ts";

export interface FakeAgent {
	id: string;
	hostname: string;
	cpus: number;
	memMb: number;
	attributes?: Record<string, string>;
}

export interface StandInOptions {
	agents: FakeAgent[];
	heartbeatSeconds?: number;
	offerIntervalMs?: number;
	resendMs?: number;
	killGraceMs?: number;
	log?: (msg: string) => void;
}

type Json = Record<string, unknown>;

interface Stream {
	id: string;
	res: http.ServerResponse;
	silent: boolean;
	heartbeat: NodeJS.Timeout;
}

interface Framework {
	id: string;
	info: Json;
	partitionAware: boolean;
	stream?: Stream;
	failoverTimer?: NodeJS.Timeout;
	suppressed: boolean;
	/** agent id → until (ms). */
	filters: Map<string, number>;
	/** offer id → agent id. */
	offers: Map<string, string>;
}

export interface StandInTask {
	taskId: string;
	frameworkId: string;
	agentId: string;
	cpus: number;
	memMb: number;
	state: string;
	child?: ChildProcess;
	killRequested?: boolean;
	/** Updates waiting for their ACKNOWLEDGE, in order; the head is (re)sent. */
	unacked: Json[];
	lastSentAt: number;
	/** Removed when its framework went: its end is told nobody. */
	orphaned?: boolean;
}

const TERMINAL = new Set([
	"TASK_FINISHED",
	"TASK_FAILED",
	"TASK_KILLED",
	"TASK_ERROR",
	"TASK_LOST",
	"TASK_DROPPED",
	"TASK_GONE",
	"TASK_UNREACHABLE",
	"TASK_UNKNOWN",
]);

export class MesosMasterStandIn {
	private readonly opts: Required<Omit<StandInOptions, "log">> & Pick<StandInOptions, "log">;
	private readonly frameworks = new Map<string, Framework>();
	private readonly removed = new Set<string>();
	readonly tasks = new Map<string, StandInTask>();
	private readonly lostAgents = new Set<string>();
	/** Every call received, in order (type and, for SUBSCRIBE, the framework id asked for). */
	readonly calls: Json[] = [];
	/** The Authorization header of each call (recorded, not checked). */
	readonly authorizations: string[] = [];
	/** Every schema violation seen, in calls and events: the suites assert none. */
	readonly violations: string[] = [];
	private readonly servers: Array<{ server: http.Server; url: string; role: "leader" | "standby" | "down" }> =
		[];
	private offerTimer?: NodeJS.Timeout;
	private resendTimer?: NodeJS.Timeout;
	private rescindNext = false;
	/** No offer rounds while set (pauseOffers): what a longer allocation interval would do. */
	private offersPaused = false;
	/** Call type → how long its next call is held before it is handled (holdNextCall). */
	private readonly held = new Map<string, number>();
	private readonly dir = mkdtempSync(path.join(tmpdir(), "mesos-standin-"));
	private seq = 0;

	constructor(opts: StandInOptions) {
		this.opts = {
			heartbeatSeconds: 1,
			offerIntervalMs: 100,
			resendMs: 500,
			killGraceMs: 3000,
			...opts,
		};
	}

	/** The leading endpoint's URL. */
	get url(): string {
		return this.servers.find((s) => s.role === "leader")!.url;
	}

	/** Every endpoint's URL, leader first (what CDS_MESOS_MASTERS lists). */
	get urls(): string[] {
		return [
			...this.servers.filter((s) => s.role === "leader"),
			...this.servers.filter((s) => s.role === "standby"),
		].map((s) => s.url);
	}

	private async endpoint(role: "leader" | "standby"): Promise<string> {
		const entry = { server: http.createServer(), url: "", role } as (typeof this.servers)[number];
		entry.server.on("request", (req, res) => this.serve(entry, req, res));
		await new Promise<void>((r) => entry.server.listen(0, "127.0.0.1", () => r()));
		entry.url = `http://127.0.0.1:${(entry.server.address() as AddressInfo).port}`;
		this.servers.push(entry);
		return entry.url;
	}

	/** Starts a leader and `standbys` standby endpoints; returns the leader's URL. */
	async start(standbys = 1): Promise<string> {
		const url = await this.endpoint("leader");
		for (let i = 0; i < standbys; i++) await this.endpoint("standby");
		this.offerTimer = setInterval(() => this.makeOffers(), this.opts.offerIntervalMs);
		this.resendTimer = setInterval(() => this.resend(), Math.max(50, this.opts.resendMs / 2));
		return url;
	}

	private log(msg: string): void {
		this.opts.log?.(msg);
	}

	// ---- HTTP ----

	private serve(
		entry: { role: "leader" | "standby" | "down" },
		req: http.IncomingMessage,
		res: http.ServerResponse,
	): void {
		const parts: Buffer[] = [];
		req.on("data", (c: Buffer) => parts.push(c));
		req.on("end", () => {
			if (entry.role === "standby") {
				// The documented redirect to the leading master (Location: //host:port/path); none
				// while failover() is between leaders (a master that knows no leader answers 503).
				const url = this.servers.find((s) => s.role === "leader")?.url;
				if (!url) {
					res.writeHead(503).end("No leader elected");
					return;
				}
				res.writeHead(307, { Location: `//${new URL(url).host}/api/v1/scheduler` }).end();
				return;
			}
			if (entry.role === "down") {
				req.socket.destroy();
				return;
			}
			if (req.method !== "POST" || req.url !== "/api/v1/scheduler") {
				res.writeHead(404).end();
				return;
			}
			if (!String(req.headers["content-type"] ?? "").startsWith("application/json")) {
				res.writeHead(415).end("expecting 'Content-Type' of application/json");
				return;
			}
			let call: Json;
			try {
				call = JSON.parse(Buffer.concat(parts).toString("utf8")) as Json;
				validateCall(call);
			} catch (e) {
				const msg = e instanceof SchemaError ? e.message : `Failed to parse body: ${(e as Error).message}`;
				this.violations.push(`call: ${msg}`);
				res.writeHead(400).end(msg);
				return;
			}
			const hold = this.held.get(call.type as string);
			if (hold !== undefined) {
				this.held.delete(call.type as string);
				setTimeout(() => this.handleRequest(call, req, res), hold).unref();
				return;
			}
			this.handleRequest(call, req, res);
		});
	}

	/** A valid call, handled in the order of arrival (recorded in `calls` in that order). */
	private handleRequest(call: Json, req: http.IncomingMessage, res: http.ServerResponse): void {
		this.calls.push(call);
		this.authorizations.push(String(req.headers.authorization ?? ""));
		if (call.type === "SUBSCRIBE") {
			if (req.headers["mesos-stream-id"]) {
				res.writeHead(400).end("Expecting 'Mesos-Stream-Id' header to be absent on SUBSCRIBE");
				return;
			}
			this.subscribe(call, res);
			return;
		}
		const fid = (call.framework_id as { value: string }).value;
		const fw = this.frameworks.get(fid);
		if (!fw?.stream) {
			res.writeHead(403).end("Framework is not subscribed");
			return;
		}
		if (req.headers["mesos-stream-id"] !== fw.stream.id) {
			this.violations.push(
				`call ${call.type}: Mesos-Stream-Id '${req.headers["mesos-stream-id"]}' is not the stream's`,
			);
			res
				.writeHead(400)
				.end(
					"The stream ID included in this request didn't match the stream ID currently associated with framework",
				);
			return;
		}
		res.writeHead(202).end();
		this.handle(fw, call);
	}

	private send(fw: Framework, event: Json): void {
		try {
			validateEvent(event);
		} catch (e) {
			this.violations.push(`event: ${(e as Error).message}`);
			throw e;
		}
		const s = fw.stream;
		if (!s || s.silent) return;
		s.res.write(encodeRecord(JSON.stringify(event)));
	}

	private subscribe(call: Json, res: http.ServerResponse): void {
		const sub = call.subscribe as { framework_info: Json };
		const info = sub.framework_info;
		const asked =
			(call.framework_id as { value: string } | undefined)?.value ??
			(info.id as { value: string } | undefined)?.value;
		const streamId = randomUUID();
		res.writeHead(200, { "Content-Type": "application/json", "Mesos-Stream-Id": streamId });
		if (asked && !this.frameworks.has(asked)) {
			// A removed (or never known) framework cannot come back under its id.
			const error = {
				type: "ERROR",
				error: { message: this.removed.has(asked) ? "Framework has been removed" : "Framework is unknown" },
			};
			validateEvent(error);
			res.end(encodeRecord(JSON.stringify(error)));
			return;
		}
		const id = asked ?? `standin-${randomBytes(4).toString("hex")}-${String(this.seq++).padStart(4, "0")}`;
		let fw = this.frameworks.get(id);
		if (!fw) {
			fw = { id, info, partitionAware: false, suppressed: false, filters: new Map(), offers: new Map() };
			this.frameworks.set(id, fw);
		}
		fw.info = info;
		fw.partitionAware = ((info.capabilities as Array<{ type: string }>) ?? []).some(
			(c) => c.type === "PARTITION_AWARE",
		);
		fw.suppressed = false;
		fw.offers.clear();
		if (fw.failoverTimer) clearTimeout(fw.failoverTimer);
		fw.failoverTimer = undefined;
		const old = fw.stream;
		const stream: Stream = {
			id: streamId,
			res,
			silent: false,
			heartbeat: setInterval(() => this.send(fw!, { type: "HEARTBEAT" }), this.opts.heartbeatSeconds * 1000),
		};
		fw.stream = stream;
		if (old) this.closeStream(old);
		res.on("close", () => {
			clearInterval(stream.heartbeat);
			if (fw!.stream === stream) this.disconnected(fw!);
		});
		this.send(fw, {
			type: "SUBSCRIBED",
			subscribed: { framework_id: { value: id }, heartbeat_interval_seconds: this.opts.heartbeatSeconds },
		});
		// Updates still waiting for an acknowledgement go again on the new stream.
		for (const t of this.tasks.values()) if (t.frameworkId === id) t.lastSentAt = 0;
	}

	private closeStream(s: Stream): void {
		clearInterval(s.heartbeat);
		s.res.destroy();
	}

	/** The framework's stream broke: it has its failover_timeout to come back. */
	private disconnected(fw: Framework): void {
		fw.stream = undefined;
		fw.offers.clear();
		const seconds = Number(fw.info.failover_timeout ?? 0);
		this.log(`framework ${fw.id} disconnected: removed in ${seconds} s unless it re-subscribes`);
		fw.failoverTimer = setTimeout(() => this.removeFramework(fw, "failover timeout"), seconds * 1000);
		fw.failoverTimer.unref();
	}

	private removeFramework(fw: Framework, why: string): void {
		this.log(`framework ${fw.id} removed (${why}): its tasks are killed`);
		if (fw.failoverTimer) clearTimeout(fw.failoverTimer);
		this.frameworks.delete(fw.id);
		this.removed.add(fw.id);
		for (const t of this.tasks.values())
			if (t.frameworkId === fw.id && !TERMINAL.has(t.state)) {
				t.orphaned = true;
				t.unacked = [];
				this.killProcess(t, 0);
			}
		const stream = fw.stream;
		fw.stream = undefined;
		if (stream) this.closeStream(stream);
	}

	// ---- calls ----

	private handle(fw: Framework, call: Json): void {
		switch (call.type) {
			case "TEARDOWN":
				this.removeFramework(fw, "TEARDOWN");
				return;
			case "ACCEPT":
				this.accept(fw, call.accept as Json);
				return;
			case "DECLINE": {
				const d = call.decline as {
					offer_ids: Array<{ value: string }>;
					filters?: { refuse_seconds?: number };
				};
				for (const o of d.offer_ids) this.release(fw, o.value, d.filters?.refuse_seconds);
				return;
			}
			case "REVIVE":
				fw.suppressed = false;
				fw.filters.clear();
				return;
			case "SUPPRESS":
				fw.suppressed = true;
				return;
			case "KILL": {
				const k = call.kill as { task_id: { value: string } };
				const t = this.tasks.get(k.task_id.value);
				if (!t || t.frameworkId !== fw.id || TERMINAL.has(t.state)) {
					if (!t || t.frameworkId !== fw.id)
						this.update(fw, undefined, {
							task_id: k.task_id,
							state: "TASK_LOST",
							source: "SOURCE_MASTER",
							reason: "REASON_TASK_UNKNOWN",
							message: "Attempted to kill an unknown task",
						});
					return;
				}
				t.killRequested = true;
				// A dead machine's agent gets no KILL: the master answers it once it removes the agent.
				if (this.lostAgents.has(t.agentId)) return;
				this.killProcess(t, this.opts.killGraceMs);
				return;
			}
			case "ACKNOWLEDGE": {
				const a = call.acknowledge as { task_id: { value: string }; uuid: string };
				const t = this.tasks.get(a.task_id.value);
				if (!t || t.unacked[0]?.uuid !== a.uuid) return;
				t.unacked.shift();
				t.lastSentAt = 0;
				if (t.unacked.length === 0 && TERMINAL.has(t.state)) this.tasks.delete(t.taskId);
				else this.resend();
				return;
			}
			case "RECONCILE": {
				const r = call.reconcile as { tasks?: Array<{ task_id: { value: string } }> };
				const asked = r.tasks ?? [];
				const of =
					asked.length === 0
						? [...this.tasks.values()].filter(
								(t) => t.frameworkId === fw.id && !TERMINAL.has(t.state) && !t.orphaned,
							)
						: asked.map((x) => this.tasks.get(x.task_id.value) ?? x.task_id.value);
				for (const t of of) {
					if (typeof t === "string" || t.frameworkId !== fw.id)
						this.update(fw, undefined, {
							task_id: { value: typeof t === "string" ? t : t.taskId },
							state: fw.partitionAware ? "TASK_UNKNOWN" : "TASK_LOST",
							source: "SOURCE_MASTER",
							reason: "REASON_RECONCILIATION",
							message: "Reconciliation: task is unknown",
						});
					else
						this.update(fw, undefined, {
							task_id: { value: t.taskId },
							agent_id: { value: t.agentId },
							state: t.state,
							source: "SOURCE_MASTER",
							reason: "REASON_RECONCILIATION",
							message: "Reconciliation: latest task state",
						});
				}
				return;
			}
		}
	}

	private release(fw: Framework, offerId: string, refuseSeconds = 5): void {
		const agentId = fw.offers.get(offerId);
		if (!agentId) return;
		fw.offers.delete(offerId);
		if (refuseSeconds > 0) fw.filters.set(agentId, Date.now() + refuseSeconds * 1000);
	}

	private accept(fw: Framework, accept: Json): void {
		const a = accept as {
			offer_ids: Array<{ value: string }>;
			operations?: Array<{ type: string; launch?: { task_infos: Json[] } }>;
			filters?: { refuse_seconds?: number };
		};
		const infos = (a.operations ?? []).flatMap((o) =>
			o.type === "LAUNCH" ? (o.launch?.task_infos ?? []) : [],
		);
		if (this.rescindNext && a.offer_ids.length > 0) {
			// The offer was rescinded while this ACCEPT was on its way.
			this.rescindNext = false;
			for (const o of a.offer_ids) {
				fw.offers.delete(o.value);
				this.send(fw, { type: "RESCIND", rescind: { offer_id: o } });
			}
		}
		const valid = a.offer_ids.every((o) => fw.offers.has(o.value));
		const agentId = valid ? fw.offers.get(a.offer_ids[0]!.value)! : undefined;
		for (const o of a.offer_ids) this.release(fw, o.value, a.filters?.refuse_seconds);
		for (const info of infos) {
			const taskId = (info.task_id as { value: string }).value;
			if (!valid || !agentId || (info.agent_id as { value: string }).value !== agentId) {
				this.update(fw, undefined, {
					task_id: info.task_id,
					state: fw.partitionAware ? "TASK_DROPPED" : "TASK_LOST",
					source: "SOURCE_MASTER",
					reason: "REASON_INVALID_OFFERS",
					message: "Task launched with invalid offers: Offer is no longer valid",
				});
				continue;
			}
			if (this.tasks.has(taskId)) {
				this.update(fw, undefined, {
					task_id: info.task_id,
					state: "TASK_ERROR",
					source: "SOURCE_MASTER",
					reason: "REASON_TASK_INVALID",
					message: "Task has duplicate ID",
				});
				continue;
			}
			this.launch(fw, agentId, info);
		}
	}

	private launch(fw: Framework, agentId: string, info: Json): void {
		const res = (info.resources as Array<{ name: string; scalar?: { value: number } }>) ?? [];
		const amount = (n: string) =>
			res.filter((r) => r.name === n).reduce((s, r) => s + (r.scalar?.value ?? 0), 0);
		const t: StandInTask = {
			taskId: (info.task_id as { value: string }).value,
			frameworkId: fw.id,
			agentId,
			cpus: amount("cpus"),
			memMb: amount("mem"),
			state: "TASK_STAGING",
			unacked: [],
			lastSentAt: 0,
		};
		this.tasks.set(t.taskId, t);
		const sandbox = path.join(this.dir, "sandboxes", t.taskId.replace(/[^A-Za-z0-9._-]/g, "_"));
		mkdirSync(sandbox, { recursive: true });
		const cmd = info.command as {
			shell?: boolean;
			value?: string;
			arguments?: string[];
			environment?: { variables?: Array<{ name: string; value?: string }> };
		};
		const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
		for (const v of cmd.environment?.variables ?? []) env[v.name] = v.value ?? "";
		env.MESOS_TASK_ID = t.taskId;
		env.MESOS_SANDBOX = sandbox;
		env.MESOS_AGENT_ID = agentId;
		const shell = cmd.shell ?? true;
		const file = shell ? "/bin/sh" : (cmd.value ?? "");
		const args = shell ? ["-c", cmd.value ?? ""] : (cmd.arguments ?? []).slice(1);
		this.status(t, "TASK_STARTING", "SOURCE_EXECUTOR");
		const out = createWriteStream(path.join(sandbox, "stdout"));
		const child = spawn(file, args, {
			env,
			cwd: sandbox,
			detached: true,
			stdio: ["ignore", "pipe", "pipe"],
			argv0: shell ? "sh" : (cmd.arguments?.[0] ?? file),
		});
		child.stdout?.pipe(out, { end: false });
		child.stderr?.pipe(out, { end: false });
		child.on("close", () => out.end());
		t.child = child;
		child.on("error", (e) => {
			if (t.orphaned || TERMINAL.has(t.state)) return;
			this.status(t, "TASK_FAILED", "SOURCE_EXECUTOR", "REASON_COMMAND_EXECUTOR_FAILED", e.message);
		});
		child.on("spawn", () => this.status(t, "TASK_RUNNING", "SOURCE_EXECUTOR"));
		child.on("exit", (code, signal) => {
			if (t.orphaned || TERMINAL.has(t.state) || this.lostAgents.has(t.agentId)) return;
			if (t.killRequested)
				this.status(t, "TASK_KILLED", "SOURCE_EXECUTOR", undefined, "Command terminated with signal");
			else if (code === 0)
				this.status(t, "TASK_FINISHED", "SOURCE_EXECUTOR", undefined, "Command exited with status 0");
			else
				this.status(
					t,
					"TASK_FAILED",
					"SOURCE_EXECUTOR",
					"REASON_COMMAND_EXECUTOR_FAILED",
					signal ? `Command terminated with signal ${signal}` : `Command exited with status ${code}`,
				);
		});
	}

	/** A reliable status update of a task (with a uuid): queued until acknowledged. */
	private status(t: StandInTask, state: string, source: string, reason?: string, message?: string): void {
		t.state = state;
		if (t.orphaned) return;
		t.unacked.push({
			task_id: { value: t.taskId },
			agent_id: { value: t.agentId },
			state,
			source,
			...(reason ? { reason } : {}),
			...(message ? { message } : {}),
			timestamp: Date.now() / 1000,
			uuid: randomBytes(16).toString("base64"),
		});
		if (t.unacked.length === 1) {
			t.lastSentAt = 0;
			this.resend();
		}
	}

	/** An update no one acknowledges (master-generated, reconciliation): sent once. */
	private update(fw: Framework, _t: StandInTask | undefined, status: Json): void {
		this.send(fw, { type: "UPDATE", update: { status: { ...status, timestamp: Date.now() / 1000 } } });
	}

	private resend(): void {
		const now = Date.now();
		for (const t of this.tasks.values()) {
			const head = t.unacked[0];
			if (!head || now - t.lastSentAt < this.opts.resendMs) continue;
			const fw = this.frameworks.get(t.frameworkId);
			if (!fw?.stream || fw.stream.silent) continue;
			t.lastSentAt = now;
			this.send(fw, { type: "UPDATE", update: { status: head } });
		}
	}

	private used(agentId: string): { cpus: number; mem: number } {
		let cpus = 0;
		let mem = 0;
		for (const t of this.tasks.values())
			if (t.agentId === agentId && !TERMINAL.has(t.state)) {
				cpus += t.cpus;
				mem += t.memMb;
			}
		return { cpus, mem };
	}

	private makeOffers(): void {
		if (this.offersPaused) return;
		const now = Date.now();
		for (const fw of this.frameworks.values()) {
			if (!fw.stream || fw.stream.silent || fw.suppressed) continue;
			const offers: Json[] = [];
			for (const agent of this.opts.agents) {
				if (this.lostAgents.has(agent.id)) continue;
				if ([...fw.offers.values()].includes(agent.id)) continue;
				if ((fw.filters.get(agent.id) ?? 0) > now) continue;
				const used = this.used(agent.id);
				// What other frameworks hold in outstanding offers is not theirs to give twice.
				let heldCpus = 0;
				let heldMem = 0;
				for (const other of this.frameworks.values())
					for (const a of other.offers.values())
						if (a === agent.id) {
							heldCpus += agent.cpus;
							heldMem += agent.memMb;
						}
				const cpus = agent.cpus - used.cpus - heldCpus;
				const mem = agent.memMb - used.mem - heldMem;
				if (cpus <= 0.0001 || mem <= 0.0001) continue;
				const id = `${fw.id}-O${this.seq++}`;
				fw.offers.set(id, agent.id);
				offers.push({
					id: { value: id },
					framework_id: { value: fw.id },
					agent_id: { value: agent.id },
					hostname: agent.hostname,
					resources: [
						{ name: "cpus", type: "SCALAR", scalar: { value: round(cpus) }, role: "*" },
						{ name: "mem", type: "SCALAR", scalar: { value: round(mem) }, role: "*" },
					],
					attributes: Object.entries(agent.attributes ?? {}).map(([name, value]) => ({
						name,
						type: "TEXT",
						text: { value },
					})),
				});
			}
			if (offers.length > 0) this.send(fw, { type: "OFFERS", offers: { offers } });
		}
	}

	private killProcess(t: StandInTask, graceMs: number): void {
		const c = t.child;
		if (!c?.pid || c.exitCode !== null || c.signalCode !== null) {
			if (t.killRequested && !TERMINAL.has(t.state)) this.status(t, "TASK_KILLED", "SOURCE_AGENT");
			return;
		}
		signalGroup(c, graceMs > 0 ? "SIGTERM" : "SIGKILL");
		if (graceMs > 0) setTimeout(() => signalGroup(c, "SIGKILL"), graceMs).unref();
	}

	// ---- faults ----

	/** The leader goes down; the first standby becomes the leader (its URL is returned). */
	async failover(): Promise<string> {
		const old = this.servers.find((s) => s.role === "leader")!;
		const next = this.servers.find((s) => s.role === "standby");
		if (!next) throw new Error("no standby to fail over to");
		old.role = "down";
		for (const fw of this.frameworks.values()) if (fw.stream) this.closeStream(fw.stream);
		old.server.closeAllConnections();
		await new Promise<void>((r) => old.server.close(() => r()));
		next.role = "leader";
		// The old leader comes back as a standby on a new port, as a restarted master would.
		await this.endpoint("standby");
		return next.url;
	}

	/** The next call of `type` is held `ms` before it is handled and answered (a slow connection). */
	holdNextCall(type: string, ms: number): void {
		this.held.set(type, ms);
	}

	/** No offers go out until resumed (Mesos' allocator makes its rounds every allocation_interval). */
	pauseOffers(paused: boolean): void {
		this.offersPaused = paused;
	}

	/** The next ACCEPT finds its offers rescinded. */
	rescindNextAccept(): void {
		this.rescindNext = true;
	}

	/** The task's process dies without a word from its executor: TASK_LOST. */
	loseTask(taskId: string): void {
		const t = this.tasks.get(taskId);
		if (!t) throw new Error(`no task ${taskId}`);
		t.child?.removeAllListeners("exit");
		if (t.child) signalGroup(t.child, "SIGKILL");
		this.status(
			t,
			"TASK_LOST",
			"SOURCE_AGENT",
			"REASON_EXECUTOR_TERMINATED",
			"Executor terminated unexpectedly",
		);
	}

	/** The agent is gone with its tasks: FAILURE, its offers rescinded, TASK_UNREACHABLE (or LOST). */
	loseAgent(agentId: string): void {
		this.lostAgents.add(agentId);
		for (const fw of this.frameworks.values()) {
			for (const [offer, a] of [...fw.offers]) {
				if (a !== agentId) continue;
				fw.offers.delete(offer);
				this.send(fw, { type: "RESCIND", rescind: { offer_id: { value: offer } } });
			}
			this.send(fw, { type: "FAILURE", failure: { agent_id: { value: agentId } } });
		}
		for (const t of this.tasks.values()) {
			if (t.agentId !== agentId || TERMINAL.has(t.state)) continue;
			if (t.child) signalGroup(t.child, "SIGKILL");
			const fw = this.frameworks.get(t.frameworkId);
			t.state = fw?.partitionAware ? "TASK_UNREACHABLE" : "TASK_LOST";
			t.unacked = [];
			if (fw)
				this.update(fw, t, {
					task_id: { value: t.taskId },
					agent_id: { value: agentId },
					state: t.state,
					source: "SOURCE_MASTER",
					reason: "REASON_AGENT_REMOVED",
					message: "Agent removed: health check timed out",
				});
		}
	}

	/**
	 * The agent's machine dies: its tasks' processes are killed, and nothing is told — the master
	 * keeps their last state (TASK_RUNNING) until `loseAgent` (its health checks timed out).
	 */
	machineDies(agentId: string): void {
		this.lostAgents.add(agentId);
		for (const t of this.tasks.values())
			if (t.agentId === agentId && !TERMINAL.has(t.state) && t.child) signalGroup(t.child, "SIGKILL");
	}

	/** A lost agent is back (empty): it is offered again. */
	restoreAgent(agentId: string): void {
		this.lostAgents.delete(agentId);
	}

	/** Every subscribed stream goes quiet (no heartbeat either) until its framework re-subscribes. */
	silence(): void {
		for (const fw of this.frameworks.values()) if (fw.stream) fw.stream.silent = true;
	}

	/** Process ids of a task (for tests that kill them hard). */
	pidsOf(taskId: string): number[] {
		const pid = this.tasks.get(taskId)?.child?.pid;
		return pid ? [pid] : [];
	}

	/** Tasks whose process still runs (an orphan check: none should be left at the end). */
	runningProcesses(): StandInTask[] {
		return [...this.tasks.values()].filter(
			(t) => t.child && t.child.exitCode === null && t.child.signalCode === null,
		);
	}

	frameworkIds(): string[] {
		return [...this.frameworks.keys()];
	}

	async stop(): Promise<void> {
		if (this.offerTimer) clearInterval(this.offerTimer);
		if (this.resendTimer) clearInterval(this.resendTimer);
		for (const fw of this.frameworks.values()) {
			if (fw.failoverTimer) clearTimeout(fw.failoverTimer);
			if (fw.stream) this.closeStream(fw.stream);
		}
		for (const t of this.tasks.values()) if (t.child) signalGroup(t.child, "SIGKILL");
		for (const s of this.servers) {
			s.server.closeAllConnections();
			await new Promise<void>((r) => s.server.close(() => r()));
		}
		rmSync(this.dir, { recursive: true, force: true });
	}
}

function round(n: number): number {
	return Math.round(n * 1000) / 1000;
}

function signalGroup(c: ChildProcess, signal: NodeJS.Signals): void {
	if (c.pid === undefined) return;
	try {
		process.kill(-c.pid, signal);
	} catch {
		try {
			c.kill(signal);
		} catch {
			/* gone */
		}
	}
}
