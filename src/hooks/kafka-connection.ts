// What the Kafka hook source and the Kafka event notifications read from a project's Kafka
// integration (model Kafka: `broker url`, optional `username`/`password`, `topic`), and the pure
// rules of consuming: the consumer group of a hook, what a record becomes, and which offset may
// be committed while several records are in flight.

import {
	type BoundIntegration,
	type BindingDelivery,
	bindingPlace,
	type HookBinding,
	payloadOfBody,
} from "./bindings.ts";

export interface KafkaConnection {
	/** `host:port` of each bootstrap broker. */
	brokers: string[];
	/** SASL PLAIN when the integration has a username. */
	sasl: { mechanism: "PLAIN"; username: string; password: string } | null;
}

/**
 * The brokers and credentials of a Kafka integration. `broker url` is CDS's: `host:port`,
 * comma-separated for several, a `kafka://` (or any) scheme tolerated. Throws on a missing or
 * malformed address: the listener then reports it instead of connecting somewhere unintended.
 */
export function kafkaConnection(
	integration: Pick<BoundIntegration, "name" | "config"> | null,
): KafkaConnection {
	if (!integration) throw new Error("the hook names no Kafka integration");
	const raw = integration.config["broker url"] ?? "";
	const brokers = raw
		.split(",")
		.map((s) => s.trim())
		.filter((s) => s !== "")
		.map((s) => s.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/\/+$/, ""));
	if (brokers.length === 0) throw new Error(`integration '${integration.name}' has no 'broker url'`);
	for (const b of brokers) {
		const m = /^(\[[0-9a-f:]+\]|[^:/\s]+):(\d{1,5})$/i.exec(b);
		if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535)
			throw new Error(`integration '${integration.name}': broker '${b}' is not host:port`);
	}
	const username = integration.config["username"] ?? "";
	const password = integration.config["password"] ?? "";
	return {
		brokers,
		sasl: username !== "" ? { mechanism: "PLAIN", username, password } : null,
	};
}

/** Host and port of a `host:port` broker address (IPv6 in brackets). */
export function brokerHostPort(broker: string): { host: string; port: number } {
	const i = broker.lastIndexOf(":");
	return { host: broker.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(broker.slice(i + 1)) };
}

/**
 * The consumer group of a hook: its `consumer_group`, else one named after where the hook is
 * (project, workflow, node, type) — not after its config, so editing the hook keeps the offsets.
 */
export function consumerGroupOf(
	binding: Pick<HookBinding, "project" | "workflow" | "node" | "type" | "config">,
): string {
	const configured = binding.config["consumer_group"]?.trim();
	if (configured) return configured;
	return `cds-${binding.project}-${binding.workflow}-${bindingPlace(binding)}`;
}

/** A record as the source reads it (the client's message, reduced to what matters here). */
export interface KafkaRecord {
	topic: string;
	partition: number;
	offset: bigint;
	key: Buffer | null | undefined;
	value: Buffer | null | undefined;
	headers: Iterable<[Buffer | string, Buffer | string]>;
	timestamp?: bigint;
}

const text = (b: Buffer | string | null | undefined): string =>
	b == null ? "" : typeof b === "string" ? b : b.toString("utf8");

/** Header names kept as `cds.hook.header.<name>`: simple names only, at most this many. */
const MAX_HEADER_VARS = 32;

/**
 * What a record becomes: its value's JSON as the run's payload (text under `message` when it is
 * not JSON), and where it came from as `cds.hook.*` variables and origin. The de-duplication key
 * names the group too: two hooks reading one topic through different groups each start a run.
 */
export function recordDelivery(
	record: KafkaRecord,
	group: string,
): { delivery: BindingDelivery; dedupKey: string } {
	const offset = record.offset.toString();
	const vars: Record<string, string> = {
		"kafka.topic": record.topic,
		"kafka.partition": String(record.partition),
		"kafka.offset": offset,
		"kafka.group": group,
	};
	const key = text(record.key);
	if (record.key != null) vars["kafka.key"] = key;
	if (record.timestamp !== undefined) vars["kafka.timestamp"] = record.timestamp.toString();
	let headers = 0;
	for (const [k, v] of record.headers) {
		const name = text(k);
		if (!/^[A-Za-z0-9_-]{1,64}$/.test(name) || headers >= MAX_HEADER_VARS) continue;
		vars[`kafka.header.${name}`] = text(v);
		headers++;
	}
	const origin: Record<string, string> = {
		topic: record.topic,
		partition: String(record.partition),
		offset,
		group,
		...(record.key != null ? { key } : {}),
	};
	return {
		delivery: { payload: payloadOfBody(record.value ?? null), vars, origin, type: "kafka" },
		dedupKey: `${group}:${record.topic}/${record.partition}/${offset}`,
	};
}

/**
 * Records in flight, per partition: a record's offset may be committed only once it and every
 * earlier record of its partition are durable, so a crash re-reads what was not (at least once).
 * `done` answers the last record of the partition's durable prefix — committing it stores the
 * offset after it — or null while an earlier record is still in flight.
 */
export class InFlightOffsets<T> {
	#partitions = new Map<string, Array<{ offset: bigint; value: T; done: boolean }>>();
	#size = 0;

	get size(): number {
		return this.#size;
	}

	/** Records are started in their partition's offset order (as a consumer reads them). */
	start(topic: string, partition: number, offset: bigint, value: T): void {
		const k = `${topic}\u0000${partition}`;
		const list = this.#partitions.get(k) ?? [];
		list.push({ offset, value, done: false });
		this.#partitions.set(k, list);
		this.#size++;
	}

	done(topic: string, partition: number, offset: bigint): { offset: bigint; value: T } | null {
		const k = `${topic}\u0000${partition}`;
		const list = this.#partitions.get(k);
		const entry = list?.find((e) => e.offset === offset && !e.done);
		if (!list || !entry) return null;
		entry.done = true;
		let last: { offset: bigint; value: T } | null = null;
		while (list.length > 0 && list[0]!.done) {
			const first = list.shift()!;
			this.#size--;
			last = { offset: first.offset, value: first.value };
		}
		if (list.length === 0) this.#partitions.delete(k);
		return last;
	}
}
