// Node-level knobs: cluster transport, store, which services run, the gateway.

import { bytes, duration, oneOf, optionalString, secret, string, url } from "./settings.ts";

const [adminToken, adminTokenFile] = secret(
	"CDS_ADMIN_TOKEN",
	"the system administrator token (≥ 20 characters); the node removes it from its environment at start",
	{ pattern: /^.{20,}$/, expected: "at least 20 characters" },
	"generated and printed once",
);
const [secretKey, secretKeyFile] = secret(
	"CDS_SECRET_KEY",
	"32 bytes, base64: the master key that seals secrets at rest; removed from the node's environment at start",
	undefined,
	"`data/master.key`, or kept in MongoDB (with a warning)",
);
const [natsPassword, natsPasswordFile] = secret(
	"NATS_PASSWORD",
	"password of `NATS_USER`; removed from the node's environment at start",
);

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const CORE_SETTINGS = {
	natsUrl: url(
		"NATS_URL",
		["nats:", "tls:"],
		"join a cluster over NATS (`nats://host:4222`, or `nats://user:password@host:4222` for a NATS that requires authentication — it should)",
		"unset: one process runs every service",
	),
	natsUser: optionalString(
		"NATS_USER",
		"user name on NATS (with `NATS_PASSWORD`), when `NATS_URL` carries none",
	),
	natsPassword,
	natsPasswordFile,
	mongoUrl: url(
		"MONGO_URL",
		["mongodb:", "mongodb+srv:"],
		"MongoDB (`mongodb://host:27017/cds`) — required for several nodes",
		"unset: embedded store under `CDS_DATA_DIR`",
	),
	services: optionalString(
		"SERVICES",
		"comma list of services this node runs: `api`, `auth`, `project`, `workflow`, `run` (with the worker API), `hatchery`, `template`, `report`, `hook`, `repository`; `hook` is the hook processor and every hook source, `hook-webhook`, `hook-poller`, `hook-scheduler` one source (with the processor), to scale them apart",
		undefined,
		"all",
	),
	apiPort: string("CDS_API_PORT", "8081", "port of the REST gateway"),
	apiHost: string("CDS_API_HOST", "0.0.0.0", "address the gateway listens on"),
	publicUrl: url(
		"CDS_PUBLIC_URL",
		["http:", "https:"],
		"the gateway's address for workers, webhooks and links: set it on API nodes, which announce it to the cluster; other nodes use the announced one unless they set their own, and a hatchery starts no worker until it knows one",
		"on an API node, `http://<hostname>:$CDS_API_PORT` in a cluster when it listens on all addresses (warned), `http://$CDS_API_HOST:$CDS_API_PORT` when it listens on one, `http://localhost:$CDS_API_PORT` on a single node",
	),
	dataDir: string(
		"CDS_DATA_DIR",
		"data",
		"embedded store, master key and workspaces (kept at mode 0700)",
		undefined,
		"`./data`",
	),
	adminToken,
	adminTokenFile,
	secretKey,
	secretKeyFile,
	nodeId: optionalString("NODE_ID", "the Moleculer node id", undefined, "hostname-pid"),
	namespace: string("CDS_NAMESPACE", "cds", "Moleculer namespace (separates clusters sharing one NATS)", {
		pattern: /^[a-zA-Z0-9_-]{1,64}$/,
		expected: "letters, digits, - and _ (at most 64)",
	}),
	maxBodyBytes: bytes(
		"CDS_MAX_BODY_BYTES",
		5 * 1024 * 1024,
		"largest request body (413 above)",
		{ min: 1 },
		"5MiB",
	),
	requestTimeoutMs: duration("CDS_REQUEST_TIMEOUT_MS", 30_000, "timeout of calls between services", {
		min: 1,
	}),
	logLevel: oneOf("LOG_LEVEL", LOG_LEVELS, "info", "fatal, error, warn, info, debug, trace"),
};
