// Integration suites need real servers (NATS with JetStream, a MongoDB-wire server).
// They run when NATS_URL / MONGO_URL are set; locally they are skipped with a reason,
// but under CI=true a missing server is a failure, never a silent skip.

import { natsEndpoint } from "../../config/nats-auth.ts";
import { type NatsClientOptions, natsClientOptions } from "../../src/ops/nats-options.ts";

/** MONGO_SQLITE_URL: a FerretDB on SQLite, where only the store contract runs (MONGO_URL is on PostgreSQL in CI). */
export type ServerVar =
	| "MONGO_URL"
	| "MONGO_SQLITE_URL"
	| "NATS_URL"
	| "KAFKA_BROKERS"
	| "RABBITMQ_URL"
	| "SWIFT_URL"
	| "KEYSTONE_URL";

export function serverUrl(name: ServerVar): { url: string; skip: false } | { url: undefined; skip: string } {
	const url = process.env[name];
	if (url) return { url, skip: false };
	if (process.env.CI === "true") {
		throw new Error(`${name} is not set but CI=true: .ci/run must start the server this suite needs`);
	}
	return {
		url: undefined,
		skip: `${name} is not set (start the server and export ${name} to run this suite)`,
	};
}

/** A database name unique to this test process, so suites never see each other's data. */
export function uniqueDbName(prefix: string): string {
	return `${prefix}_${process.pid}_${Date.now().toString(36)}`;
}

/** Builds a Mongo URL for a fresh database on the server at `base`. */
export function mongoUrlFor(base: string, db: string): string {
	const u = new URL(base);
	u.pathname = `/${db}`;
	return u.toString();
}

/**
 * Options for the `nats` client from a NATS_URL: CI's NATS requires authentication and the
 * client takes no credentials from a URL, so they travel as the nodes' own (config/nats-auth.ts).
 */
export function natsConnectOptions(url: string): NatsClientOptions {
	const endpoint = natsEndpoint("NATS_URL", url);
	return natsClientOptions(endpoint.url, endpoint.credentials);
}
