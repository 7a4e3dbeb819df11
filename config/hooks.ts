// Hook knobs: the event processor, the poller, the scheduler, retention and JetStream.

import { statSync } from "node:fs";
import path from "node:path";
import { type NatsCredentials, type NatsEndpoint, natsEndpoint } from "./nats-auth.ts";
import { bool, ConfigError, duration, type Env, int, list, readAll, string } from "./settings.ts";

export const HOOK_SETTINGS = {
	processIntervalMs: duration(
		"CDS_HOOKS_PROCESS_INTERVAL_MS",
		500,
		"how often pending hook events are looked for",
		{
			min: 10,
		},
	),
	pollLoopMs: duration("CDS_HOOKS_POLL_LOOP_MS", 1000, "how often the poller looks for repositories due", {
		min: 10,
	}),
	scheduleLoopMs: duration(
		"CDS_HOOKS_SCHEDULE_LOOP_MS",
		1000,
		"how often the scheduler looks for due ticks",
		{
			min: 10,
		},
	),
	catchUpWindowMs: duration(
		"CDS_HOOKS_CATCHUP_WINDOW_MS",
		60 * 60_000,
		"a schedule tick missed while no scheduler ran is still run within this window",
	),
	retryBaseMs: duration(
		"CDS_HOOKS_RETRY_BASE_MS",
		1000,
		"first retry delay of an event whose processing failed",
		{
			min: 1,
		},
	),
	retryMaxMs: duration("CDS_HOOKS_RETRY_MAX_MS", 5 * 60_000, "longest retry delay", { min: 1 }),
	leaseMs: duration(
		"CDS_HOOKS_LEASE_MS",
		60_000,
		"a replica's claim on an event it processes (a dead replica's events are taken over after it)",
		{ min: 1000 },
	),
	repositoryCacheMs: duration(
		"CDS_HOOKS_REPOSITORY_CACHE_MS",
		5000,
		"how long a repository's webhook secret is cached",
	),
	sweepIntervalMs: duration(
		"CDS_HOOKS_SWEEP_INTERVAL_MS",
		30_000,
		"how often processed events past retention are removed",
		{
			min: 100,
		},
	),
	eventRetentionMs: duration(
		"CDS_HOOKS_EVENT_RETENTION_MS",
		7 * 24 * 3600_000,
		"how long a processed event is kept: it de-duplicates redeliveries (never less than the catch-up window)",
	),
	processor: bool(
		"CDS_HOOKS_PROCESSOR",
		true,
		"false on a receive-only node: it accepts and stores, other replicas process",
	),
	intakeQuietMs: duration(
		"CDS_HOOKS_INTAKE_QUIET_MS",
		50,
		"deliveries less than this apart keep the intake busy (the processor defers to it)",
	),
	intakeDeferMs: duration(
		"CDS_HOOKS_INTAKE_DEFER_MS",
		2000,
		"while the intake is busy, events stored longer ago than this are processed anyway",
	),
	reconcileMs: duration(
		"CDS_HOOKS_RECONCILE_MS",
		10_000,
		"how often a hook source reads the workflow hooks it serves again (a workflow change is seen at once on its node)",
		{ min: 100 },
	),
	leaderSlotMs: duration(
		"CDS_HOOKS_LEADER_SLOT_MS",
		4000,
		"probing hook sources (health checks, Marathon events) run on one replica; a dead one's work moves within two slots",
		{ min: 500 },
	),
	sourceRetryBaseMs: duration(
		"CDS_HOOKS_SOURCE_RETRY_BASE_MS",
		1000,
		"first delay before a hook source reconnects to its broker or peer (doubling, with jitter)",
		{ min: 10 },
	),
	sourceRetryMaxMs: duration(
		"CDS_HOOKS_SOURCE_RETRY_MAX_MS",
		60_000,
		"longest delay before a hook source reconnects",
		{ min: 10 },
	),
	deadLetterAttempts: int(
		"CDS_HOOKS_DEAD_LETTER_ATTEMPTS",
		10,
		"a hook event whose processing failed this many times becomes a dead letter (kept until replayed or deleted)",
		{ min: 1, max: 1000 },
	),
	sourceModules: list(
		"CDS_HOOK_SOURCES",
		"hook source modules written outside CDS-TS (docs/hook-sdk.md), comma-separated paths: each runs as the service `hook-<its name>`",
	),
	healthcheckMinIntervalMs: duration(
		"CDS_HOOKS_HEALTHCHECK_MIN_INTERVAL_MS",
		1000,
		"no health check hook probes more often than this, whatever its `interval` says",
		{ min: 10 },
	),
	snmpPort: int(
		"CDS_HOOKS_SNMP_PORT",
		1162,
		"UDP port the SNMP trap receiver (`hook-snmp`) listens on while an `SNMP trap hook` exists (162 needs root: forward it; 0 disables)",
		{ min: 0, max: 65535 },
	),
	snmpAddress: string(
		"CDS_HOOKS_SNMP_ADDRESS",
		"0.0.0.0",
		"address the SNMP trap receiver binds (`::` for IPv6)",
		{ pattern: /^[0-9a-fA-F.:]+$/, expected: "an IPv4 or IPv6 address" },
	),
	kafkaInFlight: int(
		"CDS_HOOKS_KAFKA_IN_FLIGHT",
		16,
		"Kafka hooks: records of one hook stored at once (each offset is committed once it and those before it are stored)",
		{ min: 1, max: 1024 },
	),
	kafkaSessionTimeoutMs: duration(
		"CDS_HOOKS_KAFKA_SESSION_TIMEOUT_MS",
		10_000,
		"Kafka hooks: the consumer group session timeout; a dead replica's partitions move to the others after it",
		{ min: 1000 },
	),
	natsUrl: string(
		"CDS_HOOKS_NATS_URL",
		undefined,
		"where hook events are published on JetStream (`off` disables; default: `NATS_URL`)",
		{ pattern: /^(off|(nats|tls):\/\/.+)$/, expected: "off or nats://host:port" },
		"`NATS_URL`",
	),
	stream: string("CDS_HOOKS_STREAM", "CDS_HOOKS", "JetStream stream of hook events", {
		pattern: /^[A-Za-z0-9_-]{1,64}$/,
		expected: "letters, digits, '_' and '-'",
	}),
	subjectPrefix: string("CDS_HOOKS_SUBJECT_PREFIX", "cds.hooks", "subject prefix of hook events", {
		pattern: /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/,
		expected: "dot-separated tokens",
	}),
};

export interface HookSettings
	extends Omit<ReturnType<typeof readAll<typeof HOOK_SETTINGS>>, "natsUrl" | "sourceModules"> {
	/** CDS_HOOK_SOURCES as absolute paths of existing files. */
	sourceModules: string[];
	/** undefined: no JetStream publication. Without credentials (they are in natsCredentials). */
	natsUrl: string | undefined;
	natsCredentials?: NatsCredentials;
}

/**
 * `cluster` is the node's NATS (NATS_URL); `credentials` NATS_USER / NATS_PASSWORD, used by a
 * CDS_HOOKS_NATS_URL that carries none of its own.
 */
export function readHookSettings(
	env: Env,
	cluster: NatsEndpoint | undefined,
	credentials?: NatsCredentials,
	cwd = ".",
): HookSettings {
	const s = readAll(env, HOOK_SETTINGS);
	const sourceModules = (s.sourceModules ?? []).map((p) => sourceModulePath(p, cwd));
	const own = s.natsUrl;
	const nats =
		own === "off" ? undefined : own ? natsEndpoint("CDS_HOOKS_NATS_URL", own, credentials) : cluster;
	return {
		...s,
		// A schedule tick's event is what stops a second run of that tick: keep it at least the window.
		eventRetentionMs: Math.max(s.eventRetentionMs, s.catchUpWindowMs),
		sourceModules,
		natsUrl: nats?.url,
		natsCredentials: nats?.credentials,
	};
}

/** A CDS_HOOK_SOURCES entry as an absolute path; a missing file is the operator's to fix. */
function sourceModulePath(value: string, cwd: string): string {
	const file = path.resolve(cwd, value);
	let isFile = false;
	try {
		isFile = statSync(file).isFile();
	} catch {}
	if (!isFile) throw new ConfigError(`CDS_HOOK_SOURCES: ${value} is not a file (resolved to ${file})`);
	return file;
}

/**
 * The SERVICES name of a source loaded from CDS_HOOK_SOURCES (`hook-<name>`): which loaded module
 * serves it is only known once the node imports them (services/support/user-hook-sources.ts).
 */
export const USER_HOOK_SERVICE = /^hook-[a-z0-9][a-z0-9-]{0,39}$/;
