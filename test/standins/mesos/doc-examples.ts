// The request and event bodies of Apache Mesos' docs/scheduler-http-api.md (the v1 scheduler
// HTTP API documentation), transcribed as they are printed there, so that the stand-in's
// schemas (./schema.ts) and the client are both held to the documentation's reading and not
// only to each other's. Examples whose printed form contradicts scheduler.proto are not
// replayed: the OFFERS example puts the offers array directly under "offers" (the proto nests
// it: Event.Offers.offers), the UPDATE example carries a "bytes" field that TaskStatus does not
// have (it is "data"), the ERROR example puts "message" at the top level (the proto: Event.Error; a top-level
// "message" is the Event.Message of a MESSAGE event),
// and REVIVE shows a placeholder (`<one-of-the-subscribed-roles>`).

export const DOC_CALLS = {
	SUBSCRIBE: {
		type: "SUBSCRIBE",
		subscribe: {
			framework_info: {
				user: "foo",
				name: "Example HTTP Framework",
				roles: ["test1", "test2"],
				capabilities: [{ type: "MULTI_ROLE" }],
			},
			suppressed_roles: ["test2"],
			offer_constraints: {
				role_constraints: {
					test1: {
						groups: [
							{ attribute_constraints: [{ selector: { attribute_name: "foo" }, predicate: { exists: {} } }] },
						],
					},
				},
			},
		},
	},
	TEARDOWN: { framework_id: { value: "12220-3440-12532-2345" }, type: "TEARDOWN" },
	ACCEPT: {
		framework_id: { value: "12220-3440-12532-2345" },
		type: "ACCEPT",
		accept: {
			offer_ids: [{ value: "12220-3440-12532-O12" }],
			operations: [
				{
					type: "LAUNCH",
					launch: {
						task_infos: [
							{
								name: "My Task",
								task_id: { value: "12220-3440-12532-my-task" },
								agent_id: { value: "12220-3440-12532-S1233" },
								executor: {
									command: { shell: true, value: "sleep 1000" },
									executor_id: { value: "12214-23523-my-executor" },
								},
								resources: [
									{
										allocation_info: { role: "engineering" },
										name: "cpus",
										role: "*",
										type: "SCALAR",
										scalar: { value: 1.0 },
									},
									{
										allocation_info: { role: "engineering" },
										name: "mem",
										role: "*",
										type: "SCALAR",
										scalar: { value: 128.0 },
									},
								],
								limits: { cpus: "Infinity", mem: 512.0 },
							},
						],
					},
				},
			],
			filters: { refuse_seconds: 5.0 },
		},
	},
	DECLINE: {
		framework_id: { value: "12220-3440-12532-2345" },
		type: "DECLINE",
		decline: {
			offer_ids: [{ value: "12220-3440-12532-O12" }, { value: "12220-3440-12532-O13" }],
			filters: { refuse_seconds: 5.0 },
		},
	},
	KILL: {
		framework_id: { value: "12220-3440-12532-2345" },
		type: "KILL",
		kill: { task_id: { value: "12220-3440-12532-my-task" }, agent_id: { value: "12220-3440-12532-S1233" } },
	},
	ACKNOWLEDGE: {
		framework_id: { value: "12220-3440-12532-2345" },
		type: "ACKNOWLEDGE",
		acknowledge: {
			agent_id: { value: "12220-3440-12532-S1233" },
			task_id: { value: "12220-3440-12532-my-task" },
			uuid: "jhadf73jhakdlfha723adf",
		},
	},
	RECONCILE: {
		framework_id: { value: "12220-3440-12532-2345" },
		type: "RECONCILE",
		reconcile: { tasks: [{ task_id: { value: "312325" }, agent_id: { value: "123535" } }] },
	},
} as const;

export const DOC_EVENTS = {
	SUBSCRIBED: {
		type: "SUBSCRIBED",
		subscribed: { framework_id: { value: "12220-3440-12532-2345" }, heartbeat_interval_seconds: 15 },
	},
	RESCIND: { type: "RESCIND", rescind: { offer_id: { value: "12214-23523-O235235" } } },
	MESSAGE: {
		type: "MESSAGE",
		message: {
			agent_id: { value: "12214-23523-S235235" },
			executor_id: { value: "12214-23523-my-executor" },
			data: "adfadf3t2wa3353dfadf",
		},
	},
	FAILURE: {
		type: "FAILURE",
		failure: {
			agent_id: { value: "12214-23523-S235235" },
			executor_id: { value: "12214-23523-my-executor" },
			status: 1,
		},
	},
	HEARTBEAT: { type: "HEARTBEAT" },
} as const;

/** The documented redirect of a non-leading master: a bare `host:port` Location. */
export const DOC_REDIRECT_LOCATION = (hostPort: string) => hostPort;
