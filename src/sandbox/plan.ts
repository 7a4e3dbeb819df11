// What the sandbox of a job step is made of. The hatchery decides it once at start (which tool
// works on this host, which network mode, which paths to hide) and hands it to each worker in
// CDS_WORKER_SANDBOX; the worker applies it to every process a step starts.

export const SANDBOX_KINDS = ["bwrap", "unshare", "none"] as const;
export type SandboxKind = (typeof SANDBOX_KINDS)[number];

export const SANDBOX_NETWORKS = ["nat", "none", "host"] as const;
export type SandboxNetwork = (typeof SANDBOX_NETWORKS)[number];

export interface SandboxTools {
	bwrap?: string;
	unshare?: string;
	setpriv?: string;
	slirp4netns?: string;
	nsenter?: string;
	ip?: string;
}

export interface SandboxPlan {
	kind: SandboxKind;
	network: SandboxNetwork;
	/**
	 * The unprivileged user steps run as when the worker runs as root; undefined when the worker
	 * is not root (steps keep its uid, inside a user namespace).
	 */
	runAs?: { uid: number; gid: number };
	/** Paths replaced by an empty tmpfs: the data directory, other jobs' workspaces, homes. */
	hide: string[];
	/** Paths shown read-only although inside a hidden one: the CDS install, for the `worker` command. */
	expose: string[];
	/** Host directories every step sees read-write (CDS_SANDBOX_SHARE: shared caches, test volumes). */
	share: string[];
	/** Absolute paths of the tools the plan needs (found at hatchery start). */
	tools: SandboxTools;
}

/** A sandbox that does nothing: CDS_HATCHERY_SANDBOX=none, or a worker started by hand. */
export const NO_SANDBOX: SandboxPlan = {
	kind: "none",
	network: "host",
	hide: [],
	expose: [],
	share: [],
	tools: {},
};

/** Top-level directories a step never sees (each becomes an empty tmpfs). */
export const HIDDEN_TOP_LEVEL = ["tmp", "run", "home", "root", "mnt", "media", "srv", "lost+found"];

/**
 * Address ranges a step's network cannot reach in `nat` mode, besides the host's own addresses:
 * where the store, NATS and the API listen, often without authentication in development, and
 * cloud metadata endpoints.
 */
export const PROHIBITED_RANGES = [
	"0.0.0.0/8",
	"10.0.0.0/8",
	"100.64.0.0/10",
	"127.0.0.0/8",
	"169.254.0.0/16",
	"172.16.0.0/12",
	"192.0.0.0/24",
	"192.168.0.0/16",
	"198.18.0.0/15",
	"224.0.0.0/4",
	"240.0.0.0/4",
];

/** Inside the sandbox: where the job's worker socket, `worker` command and step files appear. */
export const SANDBOX_RUN_DIR = "/run/cds";
export const SANDBOX_SOCKET = `${SANDBOX_RUN_DIR}/worker.sock`;
export const SANDBOX_BIN = `${SANDBOX_RUN_DIR}/bin`;
export const SANDBOX_FILES = `${SANDBOX_RUN_DIR}/files`;

/** Where a root worker writes a step's files on the host (memory), see src/sandbox/launch.ts. */
export const STEP_FILES_BASE = "/dev/shm";

/** The prefix of a step's files directory in STEP_FILES_BASE: `cds-files-<job directory's name>-`. */
export function stepFilesPrefix(jobDirName: string): string {
	return `cds-files-${jobDirName}-`;
}

/** The plan a worker reads from CDS_WORKER_SANDBOX; a missing one means no sandbox, a malformed one is an error. */
export function parsePlan(text: string | undefined): SandboxPlan {
	if (text === undefined || text === "") return NO_SANDBOX;
	const raw = JSON.parse(text) as Partial<SandboxPlan>;
	const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string");
	if (
		!SANDBOX_KINDS.includes(raw.kind as SandboxKind) ||
		!SANDBOX_NETWORKS.includes(raw.network as SandboxNetwork) ||
		!strings(raw.hide) ||
		!strings(raw.expose) ||
		!strings(raw.share) ||
		typeof raw.tools !== "object" ||
		raw.tools === null
	)
		throw new Error("CDS_WORKER_SANDBOX is not a sandbox plan");
	const runAs =
		raw.runAs && Number.isInteger(raw.runAs.uid) && Number.isInteger(raw.runAs.gid)
			? { uid: raw.runAs.uid, gid: raw.runAs.gid }
			: undefined;
	return {
		kind: raw.kind as SandboxKind,
		network: raw.network as SandboxNetwork,
		runAs,
		hide: raw.hide as string[],
		expose: raw.expose as string[],
		share: raw.share as string[],
		tools: raw.tools as SandboxTools,
	};
}
