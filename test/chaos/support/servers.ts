// The chaos suite's own NATS and FerretDB: processes of the suite, on fixed loopback ports, so a
// scenario can kill and restart them mid-run while the cluster's nodes keep their URLs.
// FerretDB serves the PostgreSQL database CDS_CHAOS_POSTGRESQL_URL (.ci/run creates it) — the
// production-like backend; without it (a developer's machine) it falls back to SQLite in a
// temporary directory, and under CI=true a missing database is an error.

import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../../helpers/server.ts";

const FERRETDB_DEFAULT = path.join(homedir(), ".cache/cds-ts/ferretdb-v1.24.2");

/** Why the suite cannot run here, or false: the binaries it starts must exist. */
export function chaosSkipReason(): string | false {
	// Minutes of killing and restarting: only when asked for (npm run test:chaos, .ci/run's chaos phase).
	if (process.env.CDS_TEST_SUITE !== "chaos") return "the chaos suite runs alone: npm run test:chaos";
	const missing: string[] = [];
	if (!onPath("nats-server")) missing.push("nats-server is not on PATH");
	if (!existsSync(ferretdbBinary()))
		missing.push(`no FerretDB binary at ${ferretdbBinary()} (CDS_FERRETDB_BIN)`);
	if (process.env.CI === "true" && !process.env.CDS_CHAOS_POSTGRESQL_URL)
		missing.push("CDS_CHAOS_POSTGRESQL_URL is not set");
	if (missing.length === 0) return false;
	const reason = `${missing.join("; ")} (bash .ci/run --only chaos provides them)`;
	if (process.env.CI === "true") throw new Error(`the chaos suite cannot run under CI=true: ${reason}`);
	return reason;
}

function onPath(bin: string): boolean {
	return (process.env.PATH ?? "").split(":").some((d) => d && existsSync(path.join(d, bin)));
}

function ferretdbBinary(): string {
	return process.env.CDS_FERRETDB_BIN || FERRETDB_DEFAULT;
}

async function waitPort(port: number, timeoutMs = 20_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const open = await new Promise<boolean>((resolve) => {
			const s = connect(port, "127.0.0.1");
			s.once("connect", () => {
				s.destroy();
				resolve(true);
			});
			s.once("error", () => resolve(false));
		});
		if (open) return;
		if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

/** A server process the suite owns: started, killed and restarted on the same port and files. */
export class OwnedServer {
	readonly name: string;
	readonly port: number;
	private readonly command: () => [string, string[]];
	private child: ChildProcess | undefined;
	private exited: Promise<void> = Promise.resolve();
	readonly output: string[] = [];

	constructor(name: string, port: number, command: () => [string, string[]]) {
		this.name = name;
		this.port = port;
		this.command = command;
	}

	async start(): Promise<void> {
		const [bin, args] = this.command();
		const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
		const keep = (chunk: Buffer) => {
			this.output.push(chunk.toString());
			if (this.output.length > 400) this.output.splice(0, 200);
		};
		child.stdout?.on("data", keep);
		child.stderr?.on("data", keep);
		this.child = child;
		this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
		await waitPort(this.port).catch((e) => {
			throw new Error(`${this.name}: ${e.message}\n${this.output.join("")}`);
		});
	}

	/** kill -9, and wait until the process is gone. */
	async kill9(): Promise<void> {
		const child = this.child;
		if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
		await this.exited;
	}

	/** Down for `downMs`, then up again on the same port with the same files. */
	async restart(downMs: number): Promise<void> {
		await this.kill9();
		await new Promise((r) => setTimeout(r, downMs));
		await this.start();
	}
}

export interface ChaosServers {
	nats: OwnedServer;
	ferretdb: OwnedServer;
	natsUrl: string;
	mongoUrl: string;
	/** "postgresql" or "sqlite": what FerretDB stores into. */
	backend: string;
	stop(): Promise<void>;
}

/** NATS with JetStream and a password, and FerretDB, each on a free loopback port. */
export async function startChaosServers(): Promise<ChaosServers> {
	const dir = mkdtempSync(path.join(tmpdir(), "cds-chaos-servers-"));
	const natsPort = await freePort();
	const password = randomBytes(16).toString("hex");
	const natsConf = path.join(dir, "nats.conf");
	mkdirSync(path.join(dir, "jetstream"));
	writeFileSync(
		natsConf,
		`listen: 127.0.0.1:${natsPort}\njetstream { store_dir: "${path.join(dir, "jetstream")}" }\n` +
			`authorization { user: cds, password: "${password}" }\n`,
		{ mode: 0o600 },
	);
	const nats = new OwnedServer("nats-server", natsPort, () => ["nats-server", ["-c", natsConf]]);

	const mongoPort = await freePort();
	const pg = process.env.CDS_CHAOS_POSTGRESQL_URL;
	const handler = pg
		? ["--handler=postgresql", `--postgresql-url=${pg}`]
		: ["--handler=sqlite", `--sqlite-url=file:${path.join(dir, "sqlite")}/`];
	mkdirSync(path.join(dir, "sqlite"));
	mkdirSync(path.join(dir, "ferretdb-state"));
	const ferretdb = new OwnedServer("ferretdb", mongoPort, () => [
		ferretdbBinary(),
		[
			...handler,
			`--listen-addr=127.0.0.1:${mongoPort}`,
			"--telemetry=disable",
			"--log-level=warn",
			`--state-dir=${path.join(dir, "ferretdb-state")}`,
			"--debug-addr=127.0.0.1:0",
		],
	]);
	await nats.start();
	await ferretdb.start();
	return {
		nats,
		ferretdb,
		natsUrl: `nats://cds:${password}@127.0.0.1:${natsPort}`,
		mongoUrl: `mongodb://127.0.0.1:${mongoPort}`,
		backend: pg ? "postgresql" : "sqlite",
		async stop() {
			await ferretdb.kill9();
			await nats.kill9();
			rmSync(dir, { recursive: true, force: true });
		},
	};
}
