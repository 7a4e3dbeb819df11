// Configuration comes from the environment only (12-factor). `loadConfig` is pure: it
// returns a typed config or throws a ConfigError whose message is the one line the
// server prints before exiting with code 2.

import path from "node:path";
import { parseAllowedPrefixes } from "../src/templates/url-policy.ts";

export const ALL_SERVICES = [
	"api",
	"auth",
	"project",
	"workflow",
	"run",
	"hatchery",
	"template",
	"report",
	"hook",
	"repository",
] as const;
export type ServiceName = (typeof ALL_SERVICES)[number];

/** Service groups a node may be asked to run; names of later issues are accepted and mapped. */
const KNOWN_SERVICE_NAMES = new Set<string>([...ALL_SERVICES]);

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace";
const LOG_LEVELS: LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace"];

export interface Config {
	natsUrl?: string;
	mongoUrl?: string;
	dataDir: string;
	services: ServiceName[];
	runsAllServices: boolean;
	apiPort: number;
	apiHost: string;
	publicUrl: string;
	logLevel: LogLevel;
	adminToken?: string;
	secretKey?: string;
	nodeId?: string;
	/** Moleculer namespace: nodes only see nodes of the same namespace on a shared NATS. */
	namespace: string;
	requestTimeoutMs: number;
	maxBodyBytes: number;
	/** The environment this config was read from: services read their own tuning knobs from it. */
	env: Readonly<Record<string, string | undefined>>;
}

export class ConfigError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "ConfigError";
	}
}

function parseUrl(name: string, value: string, protocols: string[]): string {
	let url: URL;
	try {
		url = new URL(value);
	} catch {
		throw new ConfigError(`${name}=${value} is not a URL (expected ${protocols.join(" or ")}//host:port)`);
	}
	if (!protocols.includes(url.protocol)) {
		throw new ConfigError(`${name}=${value} must start with ${protocols.join(" or ")}//`);
	}
	return value;
}

function parsePort(name: string, value: string): number {
	if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
		throw new ConfigError(`${name}=${value} is not a TCP port (1-65535)`);
	}
	return Number(value);
}

function parsePositiveInt(name: string, value: string): number {
	if (!/^\d+$/.test(value) || Number(value) < 1) {
		throw new ConfigError(`${name}=${value} must be a positive whole number`);
	}
	return Number(value);
}

function parseServices(value: string | undefined): ServiceName[] {
	if (value === undefined || value.trim() === "" || value.trim() === "*") return [...ALL_SERVICES];
	const names = value
		.split(",")
		.map((s) => s.trim())
		.filter(Boolean);
	const unknown = names.filter((n) => !KNOWN_SERVICE_NAMES.has(n));
	if (unknown.length > 0) {
		throw new ConfigError(
			`SERVICES contains unknown service ${unknown.map((u) => `'${u}'`).join(", ")} (known: ${[...KNOWN_SERVICE_NAMES].join(", ")})`,
		);
	}
	// Services of later issues are accepted so deployment files can already name them.
	return [...new Set(names.filter((n): n is ServiceName => (ALL_SERVICES as readonly string[]).includes(n)))];
}

function parseNamespace(value: string | undefined): string {
	if (value === undefined || value === "") return "cds";
	if (!/^[a-zA-Z0-9_-]{1,64}$/.test(value))
		throw new ConfigError(`CDS_NAMESPACE=${value} may only hold letters, digits, - and _`);
	return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
	const natsUrl = env.NATS_URL ? parseUrl("NATS_URL", env.NATS_URL, ["nats:", "tls:"]) : undefined;
	const mongoUrl = env.MONGO_URL
		? parseUrl("MONGO_URL", env.MONGO_URL, ["mongodb:", "mongodb+srv:"])
		: undefined;
	const services = parseServices(env.SERVICES);
	const runsAllServices = ALL_SERVICES.every((s) => services.includes(s));
	if (natsUrl && !mongoUrl && !runsAllServices) {
		throw new ConfigError(
			"NATS_URL is set but MONGO_URL is not: nodes of a cluster need a shared store; set MONGO_URL, or run every service on this node (unset SERVICES)",
		);
	}
	const apiPort = env.CDS_API_PORT ? parsePort("CDS_API_PORT", env.CDS_API_PORT) : 8081;
	const apiHost = env.CDS_API_HOST || "0.0.0.0";
	const publicUrl = env.CDS_PUBLIC_URL
		? parseUrl("CDS_PUBLIC_URL", env.CDS_PUBLIC_URL, ["http:", "https:"]).replace(/\/+$/, "")
		: `http://localhost:${apiPort}`;
	const logLevelRaw = (env.LOG_LEVEL || "info").toLowerCase();
	if (!LOG_LEVELS.includes(logLevelRaw as LogLevel)) {
		throw new ConfigError(`LOG_LEVEL=${env.LOG_LEVEL} is not one of ${LOG_LEVELS.join(", ")}`);
	}
	if (env.CDS_ADMIN_TOKEN !== undefined && env.CDS_ADMIN_TOKEN.length < 20) {
		throw new ConfigError("CDS_ADMIN_TOKEN must be at least 20 characters long");
	}
	if (env.CDS_TEMPLATE_ALLOWED_URLS) {
		try {
			parseAllowedPrefixes(env.CDS_TEMPLATE_ALLOWED_URLS);
		} catch (e) {
			throw new ConfigError(`CDS_TEMPLATE_ALLOWED_URLS: ${(e as Error).message}`);
		}
	}
	if (env.CDS_SECRET_KEY !== undefined && Buffer.from(env.CDS_SECRET_KEY, "base64").length !== 32) {
		throw new ConfigError("CDS_SECRET_KEY must be 32 bytes encoded in base64 (openssl rand -base64 32)");
	}
	return {
		natsUrl,
		mongoUrl,
		dataDir: path.resolve(cwd, env.CDS_DATA_DIR || "data"),
		services,
		runsAllServices,
		apiPort,
		apiHost,
		publicUrl,
		logLevel: logLevelRaw as LogLevel,
		adminToken: env.CDS_ADMIN_TOKEN || undefined,
		secretKey: env.CDS_SECRET_KEY || undefined,
		nodeId: env.NODE_ID || undefined,
		namespace: parseNamespace(env.CDS_NAMESPACE),
		requestTimeoutMs: env.CDS_REQUEST_TIMEOUT_MS
			? parsePositiveInt("CDS_REQUEST_TIMEOUT_MS", env.CDS_REQUEST_TIMEOUT_MS)
			: 30_000,
		env: { ...env },
		maxBodyBytes: env.CDS_MAX_BODY_BYTES
			? parsePositiveInt("CDS_MAX_BODY_BYTES", env.CDS_MAX_BODY_BYTES)
			: 5 * 1024 * 1024,
	};
}
