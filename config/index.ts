// Configuration comes from the environment only (12-factor), and only through this folder:
// each area declares its knobs (config/<area>.ts, with config/settings.ts) and `loadConfig`
// reads and validates them all at start. It is pure: it returns a typed config or throws a
// ConfigError whose message is the one line the server prints before exiting with code 2.

import path from "node:path";
import { type ArtifactSettings, readArtifactSettings } from "./artifacts.ts";
import { CORE_SETTINGS, type LogLevel } from "./core.ts";
import { type HatcherySettings, readHatcherySettings } from "./hatchery.ts";
import { type HookSettings, readHookSettings, USER_HOOK_SERVICE } from "./hooks.ts";
import { type MetricsSettings, readMetricsSettings } from "./metrics.ts";
import { readUiSettings, type UiSettings } from "./ui.ts";
import { readOutboundSettings } from "./outbound.ts";
import type { OutboundPolicy } from "../src/net/outbound-policy.ts";
import { type NatsCredentials, natsEndpoint, userPassword } from "./nats-auth.ts";
import { type RepositorySettings, readRepositorySettings } from "./repository.ts";
import { type RunSettings, readRunSettings } from "./run.ts";
import { hostEnv } from "./process-env.ts";
import { ConfigError, type Env } from "./settings.ts";
import { readTemplateSettings, type TemplateSettings } from "./templates.ts";

export { ConfigError } from "./settings.ts";
export type { LogLevel } from "./core.ts";
export type { NatsCredentials } from "./nats-auth.ts";
export type {
	ArtifactSettings,
	HatcherySettings,
	HookSettings,
	MetricsSettings,
	RepositorySettings,
	RunSettings,
	TemplateSettings,
};

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
/**
 * One hook source each, so each scales apart: `SERVICES=hook-webhook` runs the receiver only
 * (with the processor, which runs beside every hook part); `hook` means all of them.
 */
export const HOOK_SOURCE_SERVICES = [
	"hook-webhook",
	"hook-poller",
	"hook-scheduler",
	"hook-healthcheck",
	"hook-snmp",
	"hook-marathon",
	"hook-kafka",
	"hook-rabbitmq",
	"hook-openstack",
] as const;
export type ServiceName = (typeof ALL_SERVICES)[number] | (typeof HOOK_SOURCE_SERVICES)[number];

/** Service groups a node may be asked to run. */
const KNOWN_SERVICE_NAMES = new Set<string>([...ALL_SERVICES, ...HOOK_SOURCE_SERVICES]);

/**
 * The Moleculer services a node hosts for its SERVICES: `hook` is the processor (`hook`) and
 * every source; `hook-<source>` is that source and the processor.
 */
export function hostedServices(services: readonly ServiceName[]): ServiceName[] {
	const hosted = new Set<ServiceName>();
	for (const name of services) {
		if (name === "hook") for (const part of ["hook", ...HOOK_SOURCE_SERVICES] as const) hosted.add(part);
		else if ((HOOK_SOURCE_SERVICES as readonly string[]).includes(name)) hosted.add("hook").add(name);
		else hosted.add(name);
	}
	return [...hosted];
}

export interface Config {
	/** Without credentials: safe to log. */
	natsUrl?: string;
	/** From NATS_URL's userinfo or NATS_USER / NATS_PASSWORD. */
	natsCredentials?: NatsCredentials;
	mongoUrl?: string;
	dataDir: string;
	services: ServiceName[];
	runsAllServices: boolean;
	apiPort: number;
	apiHost: string;
	/**
	 * CDS_PUBLIC_URL when this node sets it. Otherwise the URL to use comes from the cluster's API
	 * nodes: read it with `publicUrlOf` (services/support/public-url.ts), never from here.
	 */
	publicUrl?: string;
	logLevel: LogLevel;
	adminToken?: string;
	secretKey?: string;
	nodeId?: string;
	/** Moleculer namespace: nodes only see nodes of the same namespace on a shared NATS. */
	namespace: string;
	requestTimeoutMs: number;
	maxBodyBytes: number;
	run: RunSettings;
	hatchery: HatcherySettings;
	hooks: HookSettings;
	artifacts: ArtifactSettings;
	repository: RepositorySettings;
	templates: TemplateSettings;
	/** Who may scrape /metrics besides system administrators (CDS_METRICS_TOKEN). */
	metrics: MetricsSettings;
	/** The web UI at `/` and its sessions (CDS_UI, CDS_UI_SESSION_SECONDS). */
	ui: UiSettings;
	/** The allow-list of every connection made on a project's behalf (CDS_OUTBOUND_ALLOW). */
	outbound: OutboundPolicy;
	/** Sources of CDS_HOOK_SOURCES this node runs: `all` (SERVICES unset or `hook`), or these `hook-<name>`s. */
	userHookServices: string[] | "all";
}

/** The `hook-<name>`s of SERVICES left for the sources of CDS_HOOK_SOURCES (checked once loaded). */
function userHookServicesOf(
	value: string | undefined,
	services: readonly ServiceName[],
	modules: readonly string[],
): string[] | "all" {
	if (modules.length === 0) return [];
	if (services.includes("hook")) return "all";
	const names = (value ?? "").split(",").map((s) => s.trim());
	return names.filter((n) => !KNOWN_SERVICE_NAMES.has(n) && USER_HOOK_SERVICE.test(n));
}

function parsePort(name: string, value: string): number {
	if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
		throw new ConfigError(`${name}=${value} is not a TCP port (1-65535)`);
	}
	return Number(value);
}

function parseServices(value: string | undefined, userHooks = false): ServiceName[] {
	if (value === undefined || value.trim() === "" || value.trim() === "*") return [...ALL_SERVICES];
	const names = value
		.split(",")
		.map((s) => s.trim())
		.filter(Boolean)
		.filter((n) => KNOWN_SERVICE_NAMES.has(n) || !userHooks || !USER_HOOK_SERVICE.test(n));
	const unknown = names.filter((n) => !KNOWN_SERVICE_NAMES.has(n));
	if (unknown.length > 0) {
		throw new ConfigError(
			`SERVICES contains unknown service ${unknown.map((u) => `'${u}'`).join(", ")} (known: ${[...KNOWN_SERVICE_NAMES].join(", ")})`,
		);
	}
	return [...new Set(names as ServiceName[])];
}

export function loadConfig(env: Env = hostEnv(), cwd = process.cwd()): Config {
	const c = CORE_SETTINGS;
	const natsFallback = userPassword(c.natsUser.read(env), c.natsPassword.read(env));
	const rawNatsUrl = c.natsUrl.read(env);
	const nats = rawNatsUrl ? natsEndpoint("NATS_URL", rawNatsUrl, natsFallback) : undefined;
	const natsUrl = nats?.url;
	const mongoUrl = c.mongoUrl.read(env);
	const hooks = readHookSettings(env, nats, natsFallback, cwd);
	const services = parseServices(c.services.read(env), hooks.sourceModules.length > 0);
	const userHookServices = userHookServicesOf(c.services.read(env), services, hooks.sourceModules);
	const hosted = hostedServices(services);
	const runsAllServices = [...ALL_SERVICES, ...HOOK_SOURCE_SERVICES].every((s) => hosted.includes(s));
	if (natsUrl && !mongoUrl && !runsAllServices) {
		throw new ConfigError(
			"NATS_URL is set but MONGO_URL is not: nodes of a cluster need a shared store; set MONGO_URL, or run every service on this node (unset SERVICES)",
		);
	}
	const apiPort = parsePort("CDS_API_PORT", c.apiPort.read(env));
	const publicUrl = c.publicUrl.read(env)?.replace(/\/+$/, "");
	const secretKey = c.secretKey.read(env);
	if (secretKey !== undefined && Buffer.from(secretKey, "base64").length !== 32) {
		throw new ConfigError("CDS_SECRET_KEY must be 32 bytes encoded in base64 (openssl rand -base64 32)");
	}
	const dataDir = path.resolve(cwd, c.dataDir.read(env));
	return {
		natsUrl,
		natsCredentials: nats?.credentials,
		mongoUrl,
		dataDir,
		services,
		runsAllServices,
		apiPort,
		apiHost: c.apiHost.read(env),
		publicUrl,
		logLevel: c.logLevel.read(env),
		adminToken: c.adminToken.read(env),
		secretKey,
		nodeId: c.nodeId.read(env),
		namespace: c.namespace.read(env),
		requestTimeoutMs: c.requestTimeoutMs.read(env),
		maxBodyBytes: c.maxBodyBytes.read(env),
		run: readRunSettings(env),
		hatchery: readHatcherySettings(env, dataDir),
		hooks,
		userHookServices,
		artifacts: readArtifactSettings(env, mongoUrl),
		repository: readRepositorySettings(env),
		templates: readTemplateSettings(env),
		metrics: readMetricsSettings(env),
		ui: readUiSettings(env),
		outbound: readOutboundSettings(env),
	};
}

/**
 * The variables of `env` that hold secrets: the node keeps them out of its environment once
 * read (server.ts), so neither its children nor /proc/<pid>/environ show them. A NATS URL
 * counts when it carries credentials.
 */
export function secretVariables(env: Env): string[] {
	const names = [
		"CDS_ADMIN_TOKEN",
		"CDS_SECRET_KEY",
		"NATS_PASSWORD",
		"CDS_METRICS_TOKEN",
		"CDS_MARATHON_PASSWORD",
		"CDS_MARATHON_TOKEN",
		"CDS_OPENSTACK_PASSWORD",
	].filter((n) => env[n] !== undefined);
	for (const n of ["NATS_URL", "CDS_HOOKS_NATS_URL"]) if (/\/\/[^/]*@/.test(env[n] ?? "")) names.push(n);
	return names;
}
