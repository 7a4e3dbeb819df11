// The subset of the Mesos v1 scheduler API this framework speaks, in its JSON mapping
// (mesos/v1/scheduler/scheduler.proto and mesos/v1/mesos.proto: field names as in the .proto,
// enums as their names, bytes as base64). The stand-in in test/standins/mesos validates every
// call and event against its own definitions of the same messages.

export interface Value {
	value: string;
}

export interface Scalar {
	value: number;
}

export interface Resource {
	name: string;
	type: "SCALAR" | "RANGES" | "SET";
	scalar?: Scalar;
	role?: string;
}

export interface Attribute {
	name: string;
	type: "SCALAR" | "RANGES" | "SET" | "TEXT";
	scalar?: Scalar;
	text?: Value;
	set?: { item: string[] };
}

export interface Offer {
	id: Value;
	framework_id: Value;
	agent_id: Value;
	hostname: string;
	resources: Resource[];
	attributes?: Attribute[];
}

export interface Filters {
	refuse_seconds?: number;
}

export interface Label {
	key: string;
	value?: string;
}

export interface CommandInfo {
	shell?: boolean;
	value?: string;
	arguments?: string[];
	environment?: { variables: Array<{ name: string; value: string }> };
}

export interface TaskInfo {
	name: string;
	task_id: Value;
	agent_id: Value;
	resources: Resource[];
	command: CommandInfo;
	labels?: { labels: Label[] };
}

export type TaskState =
	| "TASK_STAGING"
	| "TASK_STARTING"
	| "TASK_RUNNING"
	| "TASK_KILLING"
	| "TASK_FINISHED"
	| "TASK_FAILED"
	| "TASK_KILLED"
	| "TASK_ERROR"
	| "TASK_LOST"
	| "TASK_DROPPED"
	| "TASK_UNREACHABLE"
	| "TASK_GONE"
	| "TASK_GONE_BY_OPERATOR"
	| "TASK_UNKNOWN";

export interface TaskStatus {
	task_id: Value;
	state: TaskState;
	message?: string;
	source?: "SOURCE_MASTER" | "SOURCE_AGENT" | "SOURCE_EXECUTOR";
	reason?: string;
	agent_id?: Value;
	timestamp?: number;
	/** Present on updates that need an ACKNOWLEDGE (absent on reconciliation answers). */
	uuid?: string;
}

export interface FrameworkInfo {
	user: string;
	name: string;
	id?: Value;
	failover_timeout?: number;
	checkpoint?: boolean;
	role?: string;
	hostname?: string;
	principal?: string;
	capabilities?: Array<{ type: "PARTITION_AWARE" | "TASK_KILLING_STATE" }>;
}

export interface Call {
	framework_id?: Value;
	type:
		| "SUBSCRIBE"
		| "TEARDOWN"
		| "ACCEPT"
		| "DECLINE"
		| "REVIVE"
		| "KILL"
		| "ACKNOWLEDGE"
		| "RECONCILE"
		| "SUPPRESS";
	subscribe?: { framework_info: FrameworkInfo };
	accept?: {
		offer_ids: Value[];
		operations: Array<{ type: "LAUNCH"; launch: { task_infos: TaskInfo[] } }>;
		filters?: Filters;
	};
	decline?: { offer_ids: Value[]; filters?: Filters };
	kill?: { task_id: Value; agent_id?: Value };
	acknowledge?: { agent_id: Value; task_id: Value; uuid: string };
	reconcile?: { tasks: Array<{ task_id: Value; agent_id?: Value }> };
	suppress?: { roles?: string[] };
	revive?: { roles?: string[] };
}

export interface Event {
	type:
		| "SUBSCRIBED"
		| "OFFERS"
		| "INVERSE_OFFERS"
		| "RESCIND"
		| "RESCIND_INVERSE_OFFER"
		| "UPDATE"
		| "MESSAGE"
		| "FAILURE"
		| "ERROR"
		| "HEARTBEAT";
	subscribed?: { framework_id: Value; heartbeat_interval_seconds?: number };
	offers?: { offers: Offer[] };
	inverse_offers?: { inverse_offers: Array<{ id: Value; framework_id: Value; agent_id?: Value }> };
	rescind?: { offer_id: Value };
	rescind_inverse_offer?: { inverse_offer_id: Value };
	update?: { status: TaskStatus };
	message?: { agent_id: Value; executor_id: Value; data: string };
	failure?: { agent_id?: Value; executor_id?: Value; status?: number };
	error?: { message: string };
}
