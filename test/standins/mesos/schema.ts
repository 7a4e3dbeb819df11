// The messages of Mesos' v1 scheduler API that the stand-in master accepts and sends, in their
// JSON mapping (field names as in include/mesos/v1/scheduler/scheduler.proto and
// include/mesos/v1/mesos.proto; enums by name; bytes as base64; 64-bit numbers as JSON numbers).
// Transcribed by hand from the .proto files for this test tree — not generated, not shared with
// the client in src/mesos — and limited to the subset a worker framework uses plus what the
// documentation's examples carry. A field that is not listed here is refused: an unknown
// field is a misreading, on either side.

type FieldType = string;

interface MessageDef {
	fields: Record<string, FieldType>;
	required?: string[];
}

/** `T` a scalar (`string`, `double`, `bool`, `bytes`, `uint32`, `int32`, `uint64`), `enum:E`, a message name, `[]T` repeated, `map:T`, `object` (not interpreted). */
export const MESSAGES: Record<string, MessageDef> = {
	// mesos.proto
	FrameworkID: { fields: { value: "string" }, required: ["value"] },
	OfferID: { fields: { value: "string" }, required: ["value"] },
	AgentID: { fields: { value: "string" }, required: ["value"] },
	TaskID: { fields: { value: "string" }, required: ["value"] },
	ExecutorID: { fields: { value: "string" }, required: ["value"] },
	"Value.Scalar": { fields: { value: "double" }, required: ["value"] },
	"Value.Text": { fields: { value: "string" }, required: ["value"] },
	"Value.Set": { fields: { item: "[]string" } },
	"Value.Range": { fields: { begin: "uint64", end: "uint64" }, required: ["begin", "end"] },
	"Value.Ranges": { fields: { range: "[]Value.Range" } },
	"Resource.AllocationInfo": { fields: { role: "string" } },
	Resource: {
		fields: {
			name: "string",
			type: "enum:Value.Type",
			scalar: "Value.Scalar",
			ranges: "Value.Ranges",
			set: "Value.Set",
			role: "string",
			allocation_info: "Resource.AllocationInfo",
		},
		required: ["name", "type"],
	},
	Attribute: {
		fields: {
			name: "string",
			type: "enum:Value.Type",
			scalar: "Value.Scalar",
			ranges: "Value.Ranges",
			set: "Value.Set",
			text: "Value.Text",
		},
		required: ["name", "type"],
	},
	"FrameworkInfo.Capability": { fields: { type: "enum:FrameworkInfo.Capability.Type" } },
	FrameworkInfo: {
		fields: {
			user: "string",
			name: "string",
			id: "FrameworkID",
			failover_timeout: "double",
			checkpoint: "bool",
			role: "string",
			roles: "[]string",
			hostname: "string",
			principal: "string",
			webui_url: "string",
			capabilities: "[]FrameworkInfo.Capability",
		},
		required: ["user", "name"],
	},
	Filters: { fields: { refuse_seconds: "double" } },
	"Environment.Variable": {
		fields: { name: "string", value: "string", type: "enum:Environment.Variable.Type" },
		required: ["name"],
	},
	Environment: { fields: { variables: "[]Environment.Variable" } },
	"CommandInfo.URI": {
		fields: { value: "string", executable: "bool", extract: "bool", cache: "bool", output_file: "string" },
		required: ["value"],
	},
	CommandInfo: {
		fields: {
			uris: "[]CommandInfo.URI",
			environment: "Environment",
			shell: "bool",
			value: "string",
			arguments: "[]string",
			user: "string",
		},
	},
	ExecutorInfo: {
		fields: {
			executor_id: "ExecutorID",
			framework_id: "FrameworkID",
			command: "CommandInfo",
			resources: "[]Resource",
			name: "string",
			type: "enum:ExecutorInfo.Type",
		},
	},
	Label: { fields: { key: "string", value: "string" }, required: ["key"] },
	Labels: { fields: { labels: "[]Label" } },
	TaskInfo: {
		fields: {
			name: "string",
			task_id: "TaskID",
			agent_id: "AgentID",
			resources: "[]Resource",
			executor: "ExecutorInfo",
			command: "CommandInfo",
			labels: "Labels",
			limits: "map:scalar-or-infinity",
		},
		required: ["name", "task_id", "agent_id"],
	},
	"Offer.Operation.Launch": { fields: { task_infos: "[]TaskInfo" } },
	"Offer.Operation": {
		fields: { type: "enum:Offer.Operation.Type", launch: "Offer.Operation.Launch" },
		required: ["type"],
	},
	Offer: {
		fields: {
			id: "OfferID",
			framework_id: "FrameworkID",
			agent_id: "AgentID",
			hostname: "string",
			resources: "[]Resource",
			attributes: "[]Attribute",
			executor_ids: "[]ExecutorID",
			allocation_info: "Resource.AllocationInfo",
		},
		required: ["id", "framework_id", "agent_id", "hostname"],
	},
	InverseOffer: {
		fields: { id: "OfferID", framework_id: "FrameworkID", agent_id: "AgentID" },
		required: ["id", "framework_id"],
	},
	TaskStatus: {
		fields: {
			task_id: "TaskID",
			state: "enum:TaskState",
			message: "string",
			source: "enum:TaskStatus.Source",
			reason: "enum:TaskStatus.Reason",
			data: "bytes",
			agent_id: "AgentID",
			executor_id: "ExecutorID",
			timestamp: "double",
			uuid: "bytes",
			healthy: "bool",
		},
		required: ["task_id", "state"],
	},
	MasterInfo: {
		fields: { id: "string", ip: "uint32", port: "uint32", hostname: "string" },
		required: ["id", "ip", "port"],
	},
	// scheduler.proto: Event
	"Event.Subscribed": {
		fields: { framework_id: "FrameworkID", heartbeat_interval_seconds: "double", master_info: "MasterInfo" },
		required: ["framework_id"],
	},
	"Event.Offers": { fields: { offers: "[]Offer" } },
	"Event.InverseOffers": { fields: { inverse_offers: "[]InverseOffer" } },
	"Event.Rescind": { fields: { offer_id: "OfferID" }, required: ["offer_id"] },
	"Event.RescindInverseOffer": { fields: { inverse_offer_id: "OfferID" }, required: ["inverse_offer_id"] },
	"Event.Update": { fields: { status: "TaskStatus" }, required: ["status"] },
	"Event.Message": {
		fields: { agent_id: "AgentID", executor_id: "ExecutorID", data: "bytes" },
		required: ["agent_id", "executor_id", "data"],
	},
	"Event.Failure": { fields: { agent_id: "AgentID", executor_id: "ExecutorID", status: "int32" } },
	"Event.Error": { fields: { message: "string" }, required: ["message"] },
	Event: {
		fields: {
			type: "enum:Event.Type",
			subscribed: "Event.Subscribed",
			offers: "Event.Offers",
			inverse_offers: "Event.InverseOffers",
			rescind: "Event.Rescind",
			rescind_inverse_offer: "Event.RescindInverseOffer",
			update: "Event.Update",
			message: "Event.Message",
			failure: "Event.Failure",
			error: "Event.Error",
		},
		required: ["type"],
	},
	// scheduler.proto: Call
	"Call.Subscribe": {
		fields: {
			framework_info: "FrameworkInfo",
			force: "bool",
			suppressed_roles: "[]string",
			offer_constraints: "object",
		},
		required: ["framework_info"],
	},
	"Call.Accept": { fields: { offer_ids: "[]OfferID", operations: "[]Offer.Operation", filters: "Filters" } },
	"Call.Decline": { fields: { offer_ids: "[]OfferID", filters: "Filters" } },
	"Call.Revive": { fields: { roles: "[]string" } },
	"Call.Suppress": { fields: { roles: "[]string" } },
	"Call.Kill": { fields: { task_id: "TaskID", agent_id: "AgentID" }, required: ["task_id"] },
	"Call.Acknowledge": {
		fields: { agent_id: "AgentID", task_id: "TaskID", uuid: "bytes" },
		required: ["agent_id", "task_id", "uuid"],
	},
	"Call.Reconcile.Task": { fields: { task_id: "TaskID", agent_id: "AgentID" }, required: ["task_id"] },
	"Call.Reconcile": { fields: { tasks: "[]Call.Reconcile.Task" } },
	Call: {
		fields: {
			framework_id: "FrameworkID",
			type: "enum:Call.Type",
			subscribe: "Call.Subscribe",
			accept: "Call.Accept",
			decline: "Call.Decline",
			revive: "Call.Revive",
			suppress: "Call.Suppress",
			kill: "Call.Kill",
			acknowledge: "Call.Acknowledge",
			reconcile: "Call.Reconcile",
		},
		required: ["type"],
	},
};

export const ENUMS: Record<string, string[]> = {
	"Value.Type": ["SCALAR", "RANGES", "SET", "TEXT"],
	"FrameworkInfo.Capability.Type": [
		"UNKNOWN",
		"REVOCABLE_RESOURCES",
		"TASK_KILLING_STATE",
		"GPU_RESOURCES",
		"SHARED_RESOURCES",
		"PARTITION_AWARE",
		"MULTI_ROLE",
		"RESERVATION_REFINEMENT",
		"REGION_AWARE",
	],
	"Environment.Variable.Type": ["UNKNOWN", "VALUE", "SECRET"],
	"ExecutorInfo.Type": ["UNKNOWN", "DEFAULT", "CUSTOM"],
	"Offer.Operation.Type": ["UNKNOWN", "LAUNCH", "LAUNCH_GROUP", "RESERVE", "UNRESERVE", "CREATE", "DESTROY"],
	TaskState: [
		"TASK_STAGING",
		"TASK_STARTING",
		"TASK_RUNNING",
		"TASK_KILLING",
		"TASK_FINISHED",
		"TASK_FAILED",
		"TASK_KILLED",
		"TASK_ERROR",
		"TASK_LOST",
		"TASK_DROPPED",
		"TASK_UNREACHABLE",
		"TASK_GONE",
		"TASK_GONE_BY_OPERATOR",
		"TASK_UNKNOWN",
	],
	"TaskStatus.Source": ["SOURCE_MASTER", "SOURCE_AGENT", "SOURCE_EXECUTOR"],
	"TaskStatus.Reason": [
		"REASON_COMMAND_EXECUTOR_FAILED",
		"REASON_EXECUTOR_TERMINATED",
		"REASON_FRAMEWORK_REMOVED",
		"REASON_INVALID_OFFERS",
		"REASON_AGENT_REMOVED",
		"REASON_AGENT_DISCONNECTED",
		"REASON_AGENT_UNKNOWN",
		"REASON_RECONCILIATION",
		"REASON_TASK_INVALID",
		"REASON_TASK_KILLED_DURING_LAUNCH",
		"REASON_TASK_UNKNOWN",
		"REASON_MASTER_DISCONNECTED",
	],
	"Event.Type": [
		"UNKNOWN",
		"SUBSCRIBED",
		"OFFERS",
		"INVERSE_OFFERS",
		"RESCIND",
		"RESCIND_INVERSE_OFFER",
		"UPDATE",
		"MESSAGE",
		"FAILURE",
		"ERROR",
		"HEARTBEAT",
	],
	"Call.Type": [
		"UNKNOWN",
		"SUBSCRIBE",
		"TEARDOWN",
		"ACCEPT",
		"DECLINE",
		"REVIVE",
		"KILL",
		"ACKNOWLEDGE",
		"RECONCILE",
		"SUPPRESS",
	],
};

/** The payload field each Call / Event type carries (absent: none). */
const CALL_PAYLOAD: Record<string, string | undefined> = {
	SUBSCRIBE: "subscribe",
	ACCEPT: "accept",
	DECLINE: "decline",
	KILL: "kill",
	ACKNOWLEDGE: "acknowledge",
	RECONCILE: "reconcile",
};
const EVENT_PAYLOAD: Record<string, string | undefined> = {
	SUBSCRIBED: "subscribed",
	OFFERS: "offers",
	INVERSE_OFFERS: "inverse_offers",
	RESCIND: "rescind",
	RESCIND_INVERSE_OFFER: "rescind_inverse_offer",
	UPDATE: "update",
	MESSAGE: "message",
	FAILURE: "failure",
	ERROR: "error",
};

export class SchemaError extends Error {}

function check(type: FieldType, v: unknown, at: string): void {
	if (type.startsWith("[]")) {
		if (!Array.isArray(v)) throw new SchemaError(`${at}: expected an array`);
		for (const [i, x] of v.entries()) check(type.slice(2), x, `${at}[${i}]`);
		return;
	}
	if (type.startsWith("map:")) {
		if (v === null || typeof v !== "object" || Array.isArray(v))
			throw new SchemaError(`${at}: expected an object (map)`);
		for (const [k, x] of Object.entries(v)) check(type.slice(4), x, `${at}.${k}`);
		return;
	}
	if (type.startsWith("enum:")) {
		const values = ENUMS[type.slice(5)]!;
		if (typeof v !== "string" || !values.includes(v))
			throw new SchemaError(`${at}: ${JSON.stringify(v)} is not a ${type.slice(5)}`);
		return;
	}
	switch (type) {
		case "string":
			if (typeof v !== "string") throw new SchemaError(`${at}: expected a string`);
			return;
		case "bytes":
			if (typeof v !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(v))
				throw new SchemaError(`${at}: expected base64 bytes`);
			return;
		case "bool":
			if (typeof v !== "boolean") throw new SchemaError(`${at}: expected a boolean`);
			return;
		case "double":
			if (typeof v !== "number" || !Number.isFinite(v)) throw new SchemaError(`${at}: expected a number`);
			return;
		case "scalar-or-infinity":
			if (v !== "Infinity" && (typeof v !== "number" || !Number.isFinite(v)))
				throw new SchemaError(`${at}: expected a number or "Infinity"`);
			return;
		case "uint32":
		case "int32":
		case "uint64":
			if (typeof v !== "number" || !Number.isInteger(v) || (type !== "int32" && v < 0))
				throw new SchemaError(`${at}: expected an ${type}`);
			return;
		case "object":
			if (v === null || typeof v !== "object") throw new SchemaError(`${at}: expected an object`);
			return;
	}
	const def = MESSAGES[type];
	if (!def) throw new Error(`schema: unknown type ${type}`);
	if (v === null || typeof v !== "object" || Array.isArray(v))
		throw new SchemaError(`${at}: expected a ${type} object`);
	for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
		const ft = def.fields[k];
		if (!ft) throw new SchemaError(`${at}: unknown field '${k}' in ${type}`);
		check(ft, x, `${at}.${k}`);
	}
	for (const r of def.required ?? [])
		if (!(r in (v as object))) throw new SchemaError(`${at}: ${type} needs '${r}'`);
}

/** Throws SchemaError unless `v` is a `name` message. */
export function validate(name: string, v: unknown, at = name): void {
	check(name, v, at);
}

/** A Call: its message, the payload its type needs, and no payload of another type. */
export function validateCall(v: unknown): void {
	validate("Call", v);
	const c = v as Record<string, unknown>;
	const type = c.type as string;
	if (type !== "SUBSCRIBE" && !c.framework_id) throw new SchemaError(`Call: a ${type} needs framework_id`);
	const payload = CALL_PAYLOAD[type];
	if (payload && !(payload in c)) throw new SchemaError(`Call: a ${type} needs '${payload}'`);
	for (const p of Object.values(CALL_PAYLOAD).concat(["revive", "suppress"]))
		if (p && p in c && p !== payload && !(p === type.toLowerCase()))
			throw new SchemaError(`Call: '${p}' in a ${type}`);
}

export function validateEvent(v: unknown): void {
	validate("Event", v);
	const e = v as Record<string, unknown>;
	const payload = EVENT_PAYLOAD[e.type as string];
	if (payload && !(payload in e)) throw new SchemaError(`Event: a ${e.type} needs '${payload}'`);
	for (const p of Object.values(EVENT_PAYLOAD))
		if (p && p in e && p !== payload) throw new SchemaError(`Event: '${p}' in a ${e.type}`);
}
