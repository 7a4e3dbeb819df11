// Starts a CDS-TS node: reads the environment, opens the store, builds the broker and
// the services this node runs (SERVICES), and starts them. `npm start` runs this file;
// tests call `startServer(env)` to get real nodes in-process.

import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { ServiceBroker } from "moleculer";
import { type Config, ConfigError, hostedServices, loadConfig, secretVariables } from "./config/index.ts";
import { forgetHostEnv, hostEnv } from "./config/process-env.ts";
import { brokerOptions } from "./moleculer.config.ts";
import { ownGatewayUrl } from "./services/support/public-url.ts";
import { COMPANION_MODULES, SERVICE_MODULES } from "./services/support/service-modules.ts";
import { attachRuntime } from "./services/support/runtime.ts";
import { userHookServices } from "./services/support/user-hook-sources.ts";
import { metricsOf } from "./mixins/metrics.middleware.ts";
import { attachStore } from "./mixins/store.mixin.ts";
import MetricsService from "./services/metrics.service.ts";
import { instrumentStore } from "./src/ops/store-metrics.ts";
import { ensurePrivateDataDir } from "./src/crypto/master-key.ts";
import { SecretBox, loadMasterKey } from "./src/crypto/secret-box.ts";
import { scrubInitialEnvironment } from "./src/ops/environ-scrub.ts";
import { createArtifactStore } from "./src/artifacts/index.ts";
import type { MongoStore } from "./src/store/mongo-store.ts";
import { openStore } from "./src/store/open.ts";
import { DuplicateKeyError, type Store } from "./src/store/types.ts";

export interface RunningServer {
	config: Config;
	broker: ServiceBroker;
	store: Store;
	stop(): Promise<void>;
}

/**
 * The master key seals secrets at rest. CDS_SECRET_KEY wins; an embedded node keeps one in
 * its data directory; a cluster without CDS_SECRET_KEY shares one through the store (the
 * first node to insert it wins) — with a warning, since it then sits beside what it protects.
 */
async function resolveMasterKey(config: Config, store: Store, warn: (msg: string) => void): Promise<Buffer> {
	if (config.secretKey || !config.mongoUrl)
		return loadMasterKey({ env: config.secretKey, dataDir: config.dataDir, warn });
	const settings = await store.collection<{ _id: string; value: string }>({ name: "settings" });
	try {
		await settings.insert({ _id: "master-key", value: randomBytes(32).toString("base64") });
	} catch (e) {
		if (!(e instanceof DuplicateKeyError)) throw e;
	}
	warn("CDS_SECRET_KEY is not set: the master key is kept in the database; set CDS_SECRET_KEY in production");
	const doc = await settings.findOne({ _id: "master-key" });
	return Buffer.from(doc!.value, "base64");
}

/**
 * `ownSignals`: the caller stops the node on SIGTERM and SIGINT (main() does). Moleculer's own
 * handler would stop the broker beside it, at once: the node would leave the cluster before its
 * hatchery drained, and every service would stop twice.
 */
export async function startServer(
	env: NodeJS.ProcessEnv = hostEnv(),
	options: { ownSignals?: boolean } = {},
): Promise<RunningServer> {
	const config = loadConfig(env);
	const broker = new ServiceBroker({
		...brokerOptions(config),
		...(options.ownSignals ? { skipProcessEventRegistration: true } : {}),
	});
	await ensurePrivateDataDir(config.dataDir, (m) => broker.logger.warn(m));
	const store = await openStore({ mongoUrl: config.mongoUrl, dataDir: config.dataDir });
	try {
		const masterKey = await resolveMasterKey(config, store, (m) => broker.logger.warn(m));
		// Services get the store through the broker: its operations are timed there, once for all.
		const metrics = metricsOf(broker)?.metrics;
		attachStore(broker, metrics ? instrumentStore(store, metrics.storeLatency) : store);
		// CDS_ARTIFACT_STORE (config/artifacts.ts) names it; the registry builds it.
		const artifacts = await createArtifactStore(config.artifacts.store, {
			dataDir: config.dataDir,
			// openStore gives a MongoStore exactly when a MongoDB URL is configured.
			mongoDb: config.mongoUrl ? (store as MongoStore).db : undefined,
			swift: config.artifacts.swift,
			log: broker.logger,
		});
		attachRuntime(broker, { config, secrets: SecretBox.fromKey(masterKey), artifacts });
		// Sources of CDS_HOOK_SOURCES run beside the hook processor, as the built-in ones do.
		const userSources = await userHookServices(config);
		const hosted = hostedServices(config.services);
		if (userSources.length > 0 && !hosted.includes("hook")) hosted.push("hook");
		for (const schema of userSources) broker.createService(schema);
		for (const name of hosted) {
			const { default: factory } = await SERVICE_MODULES[name]();
			broker.createService(factory(config));
			for (const load of Object.values(COMPANION_MODULES[name] ?? {}))
				broker.createService((await load()).default(config));
		}
		// Every node answers its own metrics to the gateways (GET /metrics merges them all).
		broker.createService(MetricsService());
		await broker.start();
	} catch (e) {
		await broker.stop().catch(() => {});
		await store.close().catch(() => {});
		throw e;
	}
	return {
		config,
		broker,
		store,
		async stop() {
			// The hatchery drains first, while this node is still a member of the cluster: the jobs it
			// waits for report through a gateway to a run service — this node's own when the cluster
			// has no other run replica. Once the broker stops, the node has left every registry.
			const hatchery = broker.getLocalService("hatchery") as
				| { drainBeforeStop?(): Promise<void> }
				| undefined;
			await hatchery?.drainBeforeStop?.();
			await broker.stop();
			await store.close();
		},
	};
}

/** The node as a process: configuration from the environment, signals, exit codes (bin/cds-server.mjs runs it). */
export async function main() {
	// The configuration reads this copy; the secrets leave the process environment before
	// anything else runs: children inherit none, and /proc/<pid>/environ shows `*`s.
	const env = { ...hostEnv() };
	const secrets = secretVariables(env);
	forgetHostEnv(secrets);
	const scrub = scrubInitialEnvironment(secrets);
	let server: RunningServer;
	try {
		server = await startServer(env, { ownSignals: true });
	} catch (e) {
		// One clear line, never a stack trace: configuration and start-up problems are the operator's to fix.
		const message = e instanceof Error ? e.message : String(e);
		process.stderr.write(`cds-ts: ${message}\n`);
		process.exit(e instanceof ConfigError ? 2 : 1);
	}
	const { config, broker } = server;
	broker.logger.info(
		`CDS-TS node ${broker.nodeID} up: services ${[...config.services, ...(Array.isArray(config.userHookServices) ? config.userHookServices : [])].join(", ")}; store ${config.mongoUrl ? "MongoDB" : `embedded (${config.dataDir})`}; transport ${config.natsUrl ? "NATS" : "local"}${config.services.includes("api") ? `; API on :${config.apiPort}` : ""}`,
	);
	const gateway = config.services.includes("api") ? ownGatewayUrl(config) : undefined;
	if (gateway?.warning) broker.logger.warn(gateway.warning);
	if (scrub.scrubbed.length > 0)
		broker.logger.info(
			`${scrub.scrubbed.join(", ")}: removed from this node's environment; the process that started it keeps its own copy — prefer the *_FILE variables`,
		);
	if (scrub.error)
		broker.logger.warn(
			`${secrets.join(", ")} could not be removed from /proc/${process.pid}/environ (${scrub.error}): processes of this user can read them; use the *_FILE variables (CDS_ADMIN_TOKEN_FILE, CDS_SECRET_KEY_FILE, NATS_PASSWORD_FILE)`,
		);
	let stopping = false;
	const shutdown = async (signal: string) => {
		if (stopping) return;
		stopping = true;
		broker.logger.info(`${signal}: stopping`);
		await server.stop().catch((e) => broker.logger.error(e));
		process.exit(0);
	};
	process.on("SIGINT", () => void shutdown("SIGINT"));
	process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
	await main();
}
