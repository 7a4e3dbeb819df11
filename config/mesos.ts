// The Mesos driver's knobs (CDS_HATCHERY_DRIVER=mesos): the masters it subscribes to as a
// framework, how it identifies itself, what each worker task asks of an offer, and how a task
// fetches its assignment from the hatchery. Its maximum of tasks is CDS_HATCHERY_MAX_WORKERS.

import os from "node:os";
import {
	ConfigError,
	duration,
	type Env,
	list,
	optionalString,
	readAll,
	secret,
	string,
} from "./settings.ts";

const DECIMAL = { pattern: /^\d+(\.\d+)?$/, expected: "a decimal number, e.g. 0.5" };
const PAIR = { pattern: /^[^=\s]+=[^=\s]+$/, expected: "name=value pairs" };
const [mesosSecret, mesosSecretFile] = secret(
	"CDS_MESOS_SECRET",
	"the secret of CDS_MESOS_PRINCIPAL (HTTP basic authentication of the scheduler calls)",
);

export const MESOS_SETTINGS = {
	masters: list(
		"CDS_MESOS_MASTERS",
		"the Mesos masters' base URLs (`http://host:5050`), comma-separated: the driver subscribes to the first that answers and follows its redirect (307) to the leader; required by CDS_HATCHERY_DRIVER=mesos",
		{ pattern: /^https?:\/\/[^\s,]+$/, expected: "http(s)://host:port URLs" },
	),
	principal: optionalString("CDS_MESOS_PRINCIPAL", "the framework's principal (also the basic-auth user)"),
	secret: mesosSecret,
	secretFile: mesosSecretFile,
	role: string("CDS_MESOS_ROLE", "*", "the role the framework subscribes with (its offers' resources)"),
	user: string(
		"CDS_MESOS_USER",
		() => {
			// A uid without a passwd entry (containers) has no user name: os.userInfo throws.
			try {
				return os.userInfo().username;
			} catch {
				return "nobody";
			}
		},
		"the user worker tasks run as on the agents",
		undefined,
		"the hatchery's user",
	),
	failoverTimeout: duration(
		"CDS_MESOS_FAILOVER_TIMEOUT_SECONDS",
		600,
		"how long the master keeps the framework's tasks after it lost the hatchery: a hatchery restarted within it re-subscribes with its framework id (kept in the store) and adopts them; beyond it the master kills them and their jobs fail",
		{ min: 1 },
	),
	refuseSeconds: duration(
		"CDS_MESOS_REFUSE_SECONDS",
		5,
		"how long a declined offer's agent is not offered again (DECLINE `filters.refuse_seconds`)",
		{ min: 0 },
	),
	cpus: string("CDS_MESOS_CPUS", "1", "cpus of each worker task", DECIMAL),
	memMb: string(
		"CDS_MESOS_MEM_MB",
		"1024",
		"memory of each worker task in MiB, unless the job requires more",
		DECIMAL,
	),
	attributes: list(
		"CDS_MESOS_ATTRIBUTES",
		"agent attributes every worker task needs, `name=value` comma-separated (offers of other agents are declined)",
		PAIR,
	),
	workerCommand: string(
		"CDS_MESOS_WORKER_COMMAND",
		"node /opt/cds/bin/cds-worker.mjs",
		"the worker's command on the agents, space-separated (it reads its assignment on stdin, fetched once from the hatchery)",
	),
	fetchCommand: string(
		"CDS_MESOS_FETCH_COMMAND",
		"curl -fsS --max-time 30",
		"the command a task fetches its one-time assignment URL with (the URL is its last argument; its output is the worker's stdin)",
	),
	assignmentListen: string(
		"CDS_MESOS_ASSIGNMENT_LISTEN",
		"127.0.0.1:0",
		"host:port where the hatchery serves each task's one-time assignment (0: any free port)",
		{ pattern: /^[^\s:]+:\d{1,5}$/, expected: "host:port" },
	),
	assignmentUrl: optionalString(
		"CDS_MESOS_ASSIGNMENT_URL",
		"the base URL agents reach the assignment server at (default: `http://` + the listening address)",
		{ pattern: /^https?:\/\/\S+$/, expected: "an http(s) URL" },
	),
	startTimeoutMs: duration(
		"CDS_MESOS_START_TIMEOUT_MS",
		120_000,
		"how long a job may wait for a matching offer (then its task to start) before it fails with that reason",
		{ min: 100 },
	),
};

export interface MesosSettings {
	masters: string[];
	principal?: string;
	secret?: string;
	role: string;
	user: string;
	failoverTimeoutSeconds: number;
	refuseSeconds: number;
	cpus: number;
	memMb: number;
	attributes: Record<string, string>;
	workerCommand: string;
	fetchCommand: string;
	assignmentListen: { host: string; port: number };
	assignmentUrl?: string;
	startTimeoutMs: number;
	/** The store the framework id is kept in (MONGO_URL), else a file in the data directory. */
	storeUrl?: string;
}

export function readMesosSettings(env: Env): MesosSettings {
	const s = readAll(env, MESOS_SETTINGS);
	if (s.secret !== undefined && s.principal === undefined)
		throw new ConfigError("CDS_MESOS_SECRET is set but CDS_MESOS_PRINCIPAL is not");
	const at = s.assignmentListen.lastIndexOf(":");
	const port = Number(s.assignmentListen.slice(at + 1));
	if (port > 65535) throw new ConfigError(`CDS_MESOS_ASSIGNMENT_LISTEN=${s.assignmentListen}: no such port`);
	const attributes: Record<string, string> = {};
	for (const a of s.attributes ?? []) {
		const eq = a.indexOf("=");
		attributes[a.slice(0, eq)] = a.slice(eq + 1);
	}
	return {
		masters: (s.masters ?? []).map((m) => m.replace(/\/+$/, "")),
		principal: s.principal,
		secret: s.secret,
		role: s.role,
		user: s.user,
		failoverTimeoutSeconds: s.failoverTimeout,
		refuseSeconds: s.refuseSeconds,
		cpus: Number(s.cpus),
		memMb: Number(s.memMb),
		attributes,
		workerCommand: s.workerCommand,
		fetchCommand: s.fetchCommand,
		assignmentListen: { host: s.assignmentListen.slice(0, at), port },
		assignmentUrl: s.assignmentUrl?.replace(/\/+$/, ""),
		startTimeoutMs: s.startTimeoutMs,
		storeUrl: env.MONGO_URL?.trim() || undefined,
	};
}
