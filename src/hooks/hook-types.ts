// The hook types a workflow file may declare under `hooks: <node>:` and what each one's `config`
// takes. The workflow linter checks a hook's config against its type here (unknown keys, missing
// ones, values of the wrong kind, at the value's line:column); the hook source that serves a type
// reads the same config. Types named as CDS writes them ("Kafka hook", "RabbitMQ hook"); CDS-TS's
// own are named the same way.

export type HookConfigKind = "string" | "integer" | "duration" | "boolean" | "enum" | "url" | "list";

export interface HookConfigKey {
	kind: HookConfigKind;
	required?: boolean;
	/** For `enum`. */
	values?: readonly string[];
	/** For `integer`: inclusive bounds. */
	min?: number;
	max?: number;
	description: string;
}

export interface HookTypeSpec {
	/** As written in the file: `type: Kafka hook`. */
	type: string;
	/** The hook source serving it (`hook-<source>` in SERVICES); null for types served elsewhere. */
	source: string | null;
	/** Its config keys; null: any string map is taken as it is (types of CDS we only keep). */
	keys: Readonly<Record<string, HookConfigKey>> | null;
	/** Models an `integration` key may name (checked where the project is known). */
	integrationModels?: readonly string[];
	description: string;
}

const integration = (models: string): HookConfigKey => ({
	kind: "string",
	required: true,
	description: `the project integration (model ${models}) holding the connection and its credentials`,
});

const probe = {
	interval: { kind: "duration", description: "time between two probes (default 30s; at least 1s)" },
	timeout: { kind: "duration", description: "a probe that takes longer fails (default 5s)" },
	failure_threshold: {
		kind: "integer",
		min: 1,
		max: 100,
		description: "consecutive failed probes that make the target down (default 3)",
	},
	recovery_threshold: {
		kind: "integer",
		min: 1,
		max: 100,
		description: "consecutive good probes that make it up again (default 2)",
	},
	on: {
		kind: "enum",
		values: ["down", "up", "both"],
		description: "which change of state starts a run (default both)",
	},
} as const satisfies Record<string, HookConfigKey>;

export const HOOK_TYPES: readonly HookTypeSpec[] = [
	// Served by the webhook receiver, the poller and the scheduler through the repository and the
	// schedules routes; their configs are CDS's and kept as they are.
	{ type: "WebHook", source: null, keys: null, description: "CDS's generic webhook (kept, not served)" },
	{ type: "RepositoryWebHook", source: null, keys: null, description: "the linked repository's webhook" },
	{ type: "Git Repository Poller", source: null, keys: null, description: "the linked repository's poller" },
	{ type: "Scheduler", source: null, keys: null, description: "a cron schedule" },
	{ type: "Gerrit hook", source: null, keys: null, description: "CDS's Gerrit hook (kept, not served)" },
	{ type: "Workflow", source: null, keys: null, description: "CDS's workflow hook (kept, not served)" },
	{
		type: "Kafka hook",
		source: "kafka",
		integrationModels: ["Kafka"],
		description: "a run per message of a Kafka topic (the message's JSON is the run's payload)",
		keys: {
			integration: integration("Kafka"),
			topic: { kind: "string", required: true, description: "the topic consumed" },
			consumer_group: {
				kind: "string",
				description:
					"the consumer group (default cds-<project>-<workflow>-<digest of where the hook is>): replicas share its partitions; offsets are committed once the run is stored",
			},
			from: {
				kind: "enum",
				values: ["latest", "earliest"],
				description:
					"where a new consumer group starts: latest (default: from when the hook is first served) or earliest",
			},
		},
	},
	{
		type: "RabbitMQ hook",
		source: "rabbitmq",
		integrationModels: ["RabbitMQ"],
		description: "a run per message of a RabbitMQ queue (the message's JSON is the run's payload)",
		keys: {
			integration: integration("RabbitMQ"),
			queue: { kind: "string", required: true, description: "the queue consumed (declared durable)" },
			exchange_type: {
				kind: "enum",
				values: ["direct", "fanout", "topic", "headers"],
				description: "the exchange's type when it is declared (default direct)",
			},
			exchange_name: { kind: "string", description: "an exchange to declare and bind the queue to" },
			binding_key: { kind: "string", description: "the binding (routing) key of that binding" },
			consumer_tag: { kind: "string", description: "the consumer tag (default generated)" },
		},
	},
	{
		type: "OpenStack Nova hook",
		source: "openstack",
		integrationModels: ["RabbitMQ"],
		description: "a run per Nova server notification (oslo.messaging) that matches the filters",
		keys: {
			integration: integration("RabbitMQ"),
			exchange: { kind: "string", description: "the notifications exchange (default nova)" },
			topic: { kind: "string", description: "the notifications topic (default notifications)" },
			event_types: {
				kind: "list",
				description:
					"comma-separated event types, `*` as a suffix wildcard (default compute.instance.*, instance.*)",
			},
			server_id: { kind: "string", description: "only this server's notifications" },
			server_name: { kind: "string", description: "only servers of this name" },
			states: {
				kind: "list",
				description: "only notifications whose new state is one of these (e.g. error)",
			},
			queue: { kind: "string", description: "the queue consumed (default cds-hook-<binding>)" },
		},
	},
	{
		type: "OpenStack Swift hook",
		source: "openstack",
		integrationModels: ["RabbitMQ"],
		description: "a run per Swift object or container event (ceilometermiddleware notifications)",
		keys: {
			integration: integration("RabbitMQ"),
			exchange: { kind: "string", description: "the notifications exchange (default swift)" },
			topic: { kind: "string", description: "the notifications topic (default notifications)" },
			event_types: {
				kind: "list",
				description: "comma-separated event types, `*` as a suffix wildcard (default objectstore.*)",
			},
			container: { kind: "string", description: "only events of this container" },
			methods: { kind: "list", description: "only these HTTP methods (PUT, POST, DELETE, COPY)" },
			queue: { kind: "string", description: "the queue consumed (default cds-hook-<binding>)" },
		},
	},
	{
		type: "Marathon hook",
		source: "marathon",
		integrationModels: ["Marathon"],
		description: "a run per Marathon event (its /v2/events stream) that matches the filters",
		keys: {
			integration: integration("Marathon"),
			event_types: {
				kind: "list",
				description:
					"comma-separated Marathon event types (default status_update_event, unhealthy_instance_kill_event, deployment_failed)",
			},
			app_id: { kind: "string", description: "only events of this application id (`/group/app`)" },
			task_statuses: {
				kind: "list",
				description: "for status updates: only these task statuses (e.g. TASK_FAILED, TASK_KILLED)",
			},
		},
	},
	{
		type: "SNMP trap hook",
		source: "snmp",
		description: "a run per SNMP v1/v2c trap received that matches the filters (varbinds in the payload)",
		keys: {
			trap_oid: {
				kind: "string",
				description: "only traps of this OID (a prefix when it ends in `.*`)",
			},
			agent: { kind: "string", description: "only traps from this agent address" },
			community: { kind: "string", description: "only traps with this community string" },
		},
	},
	{
		type: "HTTP health check",
		source: "healthcheck",
		description: "probes a URL; a run when it goes down or comes back up",
		keys: {
			url: { kind: "url", required: true, description: "the http(s) URL probed with GET" },
			expected_status: {
				kind: "string",
				description: "statuses that mean up: codes or classes, comma-separated (default 2xx,3xx)",
			},
			body_match: { kind: "string", description: "a regular expression the body must match to be up" },
			tls_verify: { kind: "boolean", description: "verify the server certificate (default true)" },
			...probe,
		},
	},
	{
		type: "TCP health check",
		source: "healthcheck",
		description: "opens a TCP connection; a run when it goes down or comes back up",
		keys: {
			host: { kind: "string", required: true, description: "host name or address" },
			port: { kind: "integer", required: true, min: 1, max: 65535, description: "TCP port" },
			...probe,
		},
	},
	{
		type: "UDP health check",
		source: "healthcheck",
		description: "sends a datagram and waits for an answer; a run when it goes down or comes back up",
		keys: {
			host: { kind: "string", required: true, description: "host name or address" },
			port: { kind: "integer", required: true, min: 1, max: 65535, description: "UDP port" },
			send: { kind: "string", description: "the datagram sent (default empty)" },
			expect: {
				kind: "string",
				description: "a regular expression the answer must match (default any answer)",
			},
			...probe,
		},
	},
];

const BY_TYPE = new Map(HOOK_TYPES.map((t) => [t.type, t]));

export function hookType(type: string): HookTypeSpec | undefined {
	return BY_TYPE.get(type);
}

/** The hook types a source serves. */
export function hookTypesOfSource(source: string): string[] {
	return HOOK_TYPES.filter((t) => t.source === source).map((t) => t.type);
}

export interface HookConfigProblem {
	/** The key concerned, or null for the config as a whole. */
	key: string | null;
	/** Whether the problem is on the key (unknown key) rather than its value. */
	onKey?: boolean;
	message: string;
}

const DURATION = /^(\d+)(ms|s|m|h)$/;

/** A duration as written in a hook config (`500ms`, `30s`, `5m`, `1h`, or plain seconds), in ms. */
export function parseDuration(value: string): number | null {
	if (/^\d+$/.test(value)) return Number(value) * 1000;
	const m = DURATION.exec(value);
	if (!m) return null;
	const n = Number(m[1]);
	const unit = m[2];
	return unit === "ms" ? n : unit === "s" ? n * 1000 : unit === "m" ? n * 60_000 : n * 3_600_000;
}

/** Comma-separated values, trimmed, empty ones dropped. */
export function parseList(value: string | undefined): string[] {
	return (value ?? "")
		.split(",")
		.map((s) => s.trim())
		.filter((s) => s !== "");
}

/** What is wrong with a hook's config for its type (none for unknown types or free-form ones). */
export function checkHookConfig(type: string, config: Record<string, string>): HookConfigProblem[] {
	const spec = BY_TYPE.get(type);
	if (!spec?.keys) return [];
	return checkConfigAgainst(type, spec.keys, config);
}

/**
 * What is wrong with a hook's config for these keys: the linter's check, which a source of a type
 * declared outside this table (CDS_HOOK_SOURCES) runs on each binding it is given.
 */
export function checkConfigAgainst(
	type: string,
	keys: Readonly<Record<string, HookConfigKey>>,
	config: Record<string, string>,
): HookConfigProblem[] {
	const problems: HookConfigProblem[] = [];
	const known = Object.keys(keys);
	for (const key of Object.keys(config)) {
		if (!(key in keys)) {
			problems.push({
				key,
				onKey: true,
				message: `unknown key '${key}' in the config of a '${type}' hook (known: ${known.join(", ")})`,
			});
		}
	}
	for (const [key, spec2] of Object.entries(keys)) {
		const value = config[key];
		if (value === undefined || value === "") {
			if (spec2.required)
				problems.push({ key: null, message: `a '${type}' hook needs '${key}' in its config` });
			continue;
		}
		const problem = checkValue(spec2, value);
		if (problem) problems.push({ key, message: `'${key}' of a '${type}' hook: ${problem}` });
	}
	return problems;
}

function checkValue(spec: HookConfigKey, value: string): string | null {
	switch (spec.kind) {
		case "integer": {
			if (!/^-?\d+$/.test(value)) return `expected an integer, got '${value}'`;
			const n = Number(value);
			if (spec.min !== undefined && n < spec.min) return `must be at least ${spec.min}, got ${n}`;
			if (spec.max !== undefined && n > spec.max) return `must be at most ${spec.max}, got ${n}`;
			return null;
		}
		case "duration": {
			const ms = parseDuration(value);
			if (ms === null) return `expected a duration such as 500ms, 30s, 5m or 1h, got '${value}'`;
			if (ms <= 0) return "must be more than 0";
			return null;
		}
		case "boolean":
			return value === "true" || value === "false" ? null : `expected true or false, got '${value}'`;
		case "enum":
			return spec.values!.includes(value)
				? null
				: `expected one of ${spec.values!.join(", ")}, got '${value}'`;
		case "url": {
			let url: URL;
			try {
				url = new URL(value);
			} catch {
				return `expected an http(s) URL, got '${value}'`;
			}
			return url.protocol === "http:" || url.protocol === "https:"
				? null
				: `expected an http(s) URL, got the scheme '${url.protocol}'`;
		}
		default:
			return value.length > 4096 ? "longer than 4096 characters" : null;
	}
}
