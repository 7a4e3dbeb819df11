import { isMap, type Node, type YAMLMap } from "yaml";
import { checkHookConfig, HOOK_TYPES } from "../hooks/hook-types.ts";
import { WorkflowGraph } from "./graph.ts";
import {
	type JsonObject,
	NODE_TRIGGERS,
	type NodeTrigger,
	type Workflow,
	type WorkflowFormatVersion,
	type WorkflowHook,
	type WorkflowIntegration,
	type WorkflowNode,
	type WorkflowNotification,
} from "./model.ts";
import {
	emptyConditions,
	oneOf,
	type ParseOptions,
	parseConditions,
	parsePermissions,
} from "./parse-common.ts";
import { parseSettings as parseIntegrationSettings } from "../integrations/settings.ts";
import type { Field, SourceFile } from "./source.ts";
import { didYouMean } from "./suggest.ts";
import { parsePersistentWorkspace } from "./parse-workspace.ts";

const COMMON_KEYS = [
	"name",
	"description",
	"version",
	"notifications",
	"metadata",
	"retention_policy",
	"history_length",
	"permissions",
] as const;
/** Keys a v2.0 node accepts; v1.0 accepts the same ones at top level (minus graph keys). */
const NODE_KEYS = [
	"depends_on",
	"when",
	"conditions",
	"pipeline",
	"application",
	"environment",
	"integration",
	"one_at_a_time",
	"payload",
	"parameters",
	"permissions",
	"persistent_workspace",
] as const;
const V1_NODE_KEYS = NODE_KEYS.filter((k) => k !== "depends_on" && k !== "permissions");
export const WORKFLOW_V1_KEYS: readonly string[] = [...COMMON_KEYS, ...V1_NODE_KEYS, "pipeline_hooks"];
export const WORKFLOW_V2_KEYS: readonly string[] = [...COMMON_KEYS, "workflow", "hooks", "integrations"];
const HOOK_KEYS = ["type", "ref", "config"] as const;
const KNOWN_HOOK_TYPES = HOOK_TYPES.map((t) => t.type);
const NOTIFICATION_KEYS = ["type", "pipelines", "settings", "integration"] as const;
const NOTIFICATION_TYPES = ["email", "jabber", "vcs", "event"] as const;
const SETTINGS_KEYS = [
	"on_success",
	"on_failure",
	"on_start",
	"send_to_groups",
	"send_to_author",
	"recipients",
	"template",
	"conditions",
];
const TEMPLATE_KEYS = ["subject", "body", "disable_comment", "disable_status"];

/** A name a workflow takes from outside itself, with where it is written. */
export interface WorkflowReference {
	kind: "pipeline" | "application" | "environment" | "integration";
	name: string;
	node: Node;
	/** "node 'build'", "hook of node 'root'", ... */
	usedBy: string;
}

export interface ParsedWorkflow {
	workflow: Workflow;
	/** The format the file was written in. */
	sourceVersion: WorkflowFormatVersion;
	nameNode: Node | null;
	references: WorkflowReference[];
}

interface NodeDraft {
	node: WorkflowNode;
	keyNode: Node;
	dependsOn: Array<{ value: string; node: Node }>;
}

export function parseWorkflow(
	src: SourceFile,
	map: YAMLMap,
	options: ParseOptions = {},
): ParsedWorkflow | undefined {
	const all = src.fields(map);
	const versionField = all.find((f) => f.key === "version");
	let version: WorkflowFormatVersion = all.some((f) => f.key === "workflow") ? "v2.0" : "v1.0";
	if (versionField) {
		const declared = oneOf<WorkflowFormatVersion>(src, versionField, ["v1.0", "v2.0"], "workflow version");
		if (declared) version = declared;
	}
	const fields = src.knownFields(
		map,
		`v${version.slice(1)} workflow`,
		version === "v2.0" ? WORKFLOW_V2_KEYS : WORKFLOW_V1_KEYS,
	);
	src.require(fields, ["name", "version"], "workflow", map);
	if (version === "v2.0") src.require(fields, ["workflow"], "v2.0 workflow", map);
	else src.require(fields, ["pipeline"], "v1.0 workflow", map);
	const name = src.string(fields.get("name"), "workflow name");
	const references: WorkflowReference[] = [];

	const drafts: NodeDraft[] = [];
	const hooks: WorkflowHook[] = [];
	if (version === "v2.0") {
		const nodesField = fields.get("workflow");
		const nodesMap =
			nodesField && src.map(nodesField.value, "workflow (the map of nodes)", nodesField.keyNode);
		for (const entry of nodesMap ? src.fields(nodesMap) : []) {
			const nodeMap = src.isEmpty(entry.value)
				? undefined
				: src.map(entry.value, `node '${entry.key}'`, entry.keyNode);
			if (src.isEmpty(entry.value)) {
				src.error("missing-key", `node '${entry.key}' has neither a pipeline nor depends_on`, entry.keyNode);
			}
			if (!nodeMap) continue;
			const nodeFields = src.knownFields(nodeMap, `node '${entry.key}'`, NODE_KEYS);
			drafts.push(readNode(src, entry.key, entry.keyNode, nodeFields, nodeMap, references));
		}
		hooks.push(...parseNodeHooks(src, fields.get("hooks"), references));
	} else {
		const pipelineField = fields.get("pipeline");
		const pipeline = src.string(pipelineField, "pipeline");
		if (pipeline !== undefined) {
			drafts.push(readNode(src, pipeline, pipelineField!.value ?? map, fields, map, references));
			hooks.push(
				...parseHookList(src, fields.get("pipeline_hooks"), pipeline, pipelineField!.value, references),
			);
		}
	}

	const notifications = parseNotifications(src, fields.get("notifications"), references);
	const integrations = parseWorkflowIntegrations(src, fields.get("integrations"), references, options);
	const nodes = orderNodes(src, drafts, hooks, notifications, fields, map);
	if (name === undefined || nodes === undefined) return undefined;
	return {
		workflow: {
			...(integrations ? { integrations } : {}),
			name,
			description: src.string(fields.get("description"), "workflow description", { allowEmpty: true }),
			version: integrations ? "v2.0" : canonicalVersion(nodes, hooks),
			nodes,
			hooks,
			notifications,
			metadata: src.stringMap(fields.get("metadata"), "metadata") ?? {},
			retentionPolicy: src.string(fields.get("retention_policy"), "retention_policy"),
			historyLength: src.integer(fields.get("history_length"), "history_length", 1),
			permissions: parsePermissions(src, fields.get("permissions"), "the workflow"),
		},
		sourceVersion: version,
		nameNode: fields.get("name")?.value ?? null,
		references,
	};
}

/** CDS writes a single-pipeline workflow as v1.0, anything richer as v2.0. */
function canonicalVersion(
	nodes: readonly WorkflowNode[],
	hooks: readonly WorkflowHook[],
): WorkflowFormatVersion {
	const only = nodes[0];
	const single =
		nodes.length === 1 &&
		only !== undefined &&
		only.pipeline === only.name &&
		Object.keys(only.permissions).length === 0 &&
		hooks.every((h) => h.node === only.name);
	return single ? "v1.0" : "v2.0";
}

function readNode(
	src: SourceFile,
	name: string,
	keyNode: Node,
	fields: Map<string, Field>,
	map: YAMLMap,
	references: WorkflowReference[],
): NodeDraft {
	const usedBy = `node '${name}'`;
	const ref = (kind: WorkflowReference["kind"], key: string): string | undefined => {
		const value = src.string(fields.get(key), `${key} of ${usedBy}`);
		if (value !== undefined) references.push({ kind, name: value, node: fields.get(key)!.value!, usedBy });
		return value;
	};
	const pipeline = ref("pipeline", "pipeline");
	const dependsOn = src.stringList(fields.get("depends_on"), `depends_on of ${usedBy}`) ?? [];
	if (pipeline === undefined && !fields.has("pipeline") && !fields.has("depends_on")) {
		src.error("missing-key", `${usedBy} has neither a pipeline nor depends_on`, map);
	}
	const when: NodeTrigger[] = [];
	for (const item of src.stringList(fields.get("when"), `when of ${usedBy}`) ?? []) {
		if (!(NODE_TRIGGERS as readonly string[]).includes(item.value)) {
			src.error(
				"invalid-value",
				`when '${item.value}' of ${usedBy} is not one of ${NODE_TRIGGERS.join(", ")}${didYouMean(item.value, NODE_TRIGGERS)}`,
				item.node,
			);
		} else if (!when.includes(item.value as NodeTrigger)) when.push(item.value as NodeTrigger);
	}
	const conditionsField = fields.get("conditions");
	const payloadField = fields.get("payload");
	const workspaceField = fields.get("persistent_workspace");
	const workspace = workspaceField ? parsePersistentWorkspace(src, workspaceField, usedBy) : undefined;
	return {
		keyNode,
		dependsOn,
		node: {
			name,
			pipeline,
			application: ref("application", "application"),
			environment: ref("environment", "environment"),
			integration: ref("integration", "integration"),
			dependsOn: [...new Set(dependsOn.map((d) => d.value))].sort(),
			when: when.sort(),
			conditions: conditionsField ? parseConditions(src, conditionsField, usedBy) : emptyConditions(),
			oneAtATime: src.boolean(fields.get("one_at_a_time"), "one_at_a_time") ?? false,
			payload: payloadField && !src.isEmpty(payloadField.value) ? src.plain(payloadField.value) : undefined,
			parameters: src.stringMap(fields.get("parameters"), `parameters of ${usedBy}`) ?? {},
			permissions: readNodePermissions(src, fields, map, usedBy),
			...(workspace ? { persistentWorkspace: workspace } : {}),
		},
	};
}

function readNodePermissions(
	src: SourceFile,
	fields: Map<string, Field>,
	map: YAMLMap,
	usedBy: string,
): Record<string, number> {
	// In a v1.0 file the node is the document itself, whose `permissions` belong to the workflow.
	const field = fields.get("permissions");
	if (!field || src.root === map) return {};
	return parsePermissions(src, field, usedBy);
}

/** v2.0 `hooks:` — node name → list of hooks. */
function parseNodeHooks(
	src: SourceFile,
	field: Field | undefined,
	references: WorkflowReference[],
): WorkflowHook[] {
	if (!field || src.isEmpty(field.value)) return [];
	const map = src.map(field.value, "hooks (node name → list of hooks)", field.keyNode);
	const hooks: WorkflowHook[] = [];
	for (const entry of map ? src.fields(map) : []) {
		hooks.push(...parseHookList(src, entry, entry.key, entry.keyNode, references));
	}
	return hooks;
}

/** A hook's config checked against its type (src/hooks/hook-types.ts), each problem where it is written. */
function checkHookConfigAt(
	src: SourceFile,
	type: string,
	config: Record<string, string>,
	configField: Field | undefined,
	hookMap: YAMLMap,
): void {
	const configMap = configField && isMap(configField.value) ? (configField.value as YAMLMap) : undefined;
	const entries = configMap ? src.fields(configMap) : [];
	for (const problem of checkHookConfig(type, config)) {
		const entry = problem.key === null ? undefined : entries.find((f) => f.key === problem.key);
		const at = entry ? (problem.onKey ? entry.keyNode : entry.value) : (configField?.keyNode ?? hookMap);
		src.error(problem.onKey ? "unknown-key" : "invalid-value", problem.message, at);
	}
}

/** Hooks placed on the node they were keyed by; `at` is where that node name is written. */
const hookTargets = new WeakMap<WorkflowHook, Node | null>();

function parseHookList(
	src: SourceFile,
	field: Field | undefined,
	node: string,
	at: Node | null,
	references: WorkflowReference[],
): WorkflowHook[] {
	if (!field || src.isEmpty(field.value)) return [];
	const seq = src.seq(field.value, `hooks of node '${node}'`, field.keyNode);
	const hooks: WorkflowHook[] = [];
	for (const item of seq ? src.items(seq) : []) {
		const what = `a hook of node '${node}'`;
		const map = src.map(item, what);
		if (!map) continue;
		const fields = src.knownFields(map, what, HOOK_KEYS);
		if (!src.require(fields, ["type"], what, map)) continue;
		const type = src.string(fields.get("type"), "hook type");
		if (type === undefined) continue;
		if (!KNOWN_HOOK_TYPES.includes(type)) {
			src.warn(
				"invalid-value",
				`unknown hook type '${type}'${didYouMean(type, KNOWN_HOOK_TYPES)}`,
				fields.get("type")!.value,
			);
		}
		const config = src.stringMap(fields.get("config"), `config of ${what}`) ?? {};
		checkHookConfigAt(src, type, config, fields.get("config"), map);
		const integration = config["integration"];
		if (integration !== undefined && integration !== "") {
			const configMap = fields.get("config")!.value as YAMLMap;
			const integrationField = src.fields(configMap).find((f) => f.key === "integration");
			references.push({
				kind: "integration",
				name: integration,
				node: integrationField?.value ?? configMap,
				usedBy: `the '${type}' hook of node '${node}'`,
			});
		}
		const hook: WorkflowHook = { node, type, ref: src.string(fields.get("ref"), "hook ref"), config };
		hookTargets.set(hook, at);
		hooks.push(hook);
	}
	return hooks;
}

interface NotificationDraft {
	notification: WorkflowNotification;
	pipelineNodes: Node[];
}
const notificationTargets = new WeakMap<WorkflowNotification, Node[]>();

function parseNotifications(
	src: SourceFile,
	field: Field | undefined,
	references: WorkflowReference[],
): WorkflowNotification[] {
	if (!field || src.isEmpty(field.value)) return [];
	const seq = src.seq(field.value, "notifications", field.keyNode);
	const out: NotificationDraft[] = [];
	for (const item of seq ? src.items(seq) : []) {
		const map = src.map(item, "a notification");
		if (!map) continue;
		const fields = src.knownFields(map, "a notification", NOTIFICATION_KEYS);
		if (!src.require(fields, ["type"], "a notification", map)) continue;
		const type = oneOf(src, fields.get("type"), NOTIFICATION_TYPES, "notification type");
		const pipelines = src.stringList(fields.get("pipelines"), "pipelines of a notification") ?? [];
		const integration = src.string(fields.get("integration"), "notification integration");
		if (integration !== undefined) {
			references.push({
				kind: "integration",
				name: integration,
				node: fields.get("integration")!.value!,
				usedBy: `the ${type ?? "?"} notification`,
			});
		}
		const settings = parseSettings(src, fields.get("settings"));
		if (type === undefined) continue;
		out.push({
			notification: {
				type,
				nodes: [...new Set(pipelines.map((p) => p.value))].sort(),
				integration,
				settings,
			},
			pipelineNodes: pipelines.map((p) => p.node),
		});
	}
	for (const draft of out) notificationTargets.set(draft.notification, draft.pipelineNodes);
	return out.map((d) => d.notification);
}

function parseSettings(src: SourceFile, field: Field | undefined): JsonObject {
	if (!field || src.isEmpty(field.value)) return {};
	const map = src.map(field.value, "notification settings", field.keyNode);
	if (!map) return {};
	const fields = src.knownFields(map, "notification settings", SETTINGS_KEYS);
	const template = fields.get("template");
	if (template && !src.isEmpty(template.value)) {
		const templateMap = src.map(template.value, "notification template", template.keyNode);
		if (templateMap) src.knownFields(templateMap, "notification template", TEMPLATE_KEYS);
	}
	for (const key of ["on_success", "on_failure"]) {
		const f = fields.get(key);
		if (f) oneOf(src, f, ["always", "change", "never"], key);
	}
	return src.plain(map) as JsonObject;
}

/**
 * Checks the graph (parents exist, no cycle, one root, hooks and notifications on real
 * nodes) and returns the nodes in topological order.
 */
function orderNodes(
	src: SourceFile,
	drafts: NodeDraft[],
	hooks: WorkflowHook[],
	notifications: WorkflowNotification[],
	fields: Map<string, Field>,
	map: YAMLMap,
): WorkflowNode[] | undefined {
	const names = drafts.map((d) => d.node.name);
	let ok = true;
	for (const draft of drafts) {
		for (const parent of draft.dependsOn) {
			if (names.includes(parent.value) && parent.value !== draft.node.name) continue;
			ok = false;
			const reason =
				parent.value === draft.node.name
					? `node '${draft.node.name}' depends on itself`
					: `node '${draft.node.name}' depends on '${parent.value}', which is not a node of this workflow${didYouMean(parent.value, names)}`;
			src.error(parent.value === draft.node.name ? "cycle" : "unknown-node", reason, parent.node);
		}
	}
	for (const hook of hooks) {
		if (!names.includes(hook.node)) {
			ok = false;
			src.error(
				"unknown-node",
				`hooks name node '${hook.node}', which is not a node of this workflow${didYouMean(hook.node, names)}`,
				hookTargets.get(hook) ?? map,
			);
		}
	}
	for (const notification of notifications) {
		const at = notificationTargets.get(notification) ?? [];
		for (const [i, node] of notification.nodes.entries()) {
			if (names.includes(node)) continue;
			const where =
				at.find((n) => String((n as { value?: unknown }).value) === node) ??
				at[i] ??
				fields.get("notifications")?.keyNode;
			src.error(
				"unknown-node",
				`notification names node '${node}', which is not a node of this workflow${didYouMean(node, names)}`,
				where,
			);
		}
	}
	const graph = new WorkflowGraph(drafts.map((d) => d.node));
	const cycle = graph.findCycle();
	if (cycle) {
		const first = drafts.find((d) => d.node.name === cycle[0])!;
		src.error("cycle", `dependency cycle: ${[...cycle, cycle[0]].join(" -> ")}`, first.keyNode);
		return undefined;
	}
	const roots = graph.roots();
	if (drafts.length > 0 && roots.length > 1 && ok) {
		const second = drafts.find((d) => d.node.name === roots[1])!;
		src.error(
			"invalid-graph",
			`workflow has ${roots.length} root nodes (${roots.join(", ")}); it must have exactly one`,
			second.keyNode,
		);
	}
	if (!ok) return drafts.map((d) => d.node);
	const byName = new Map(drafts.map((d) => [d.node.name, d.node]));
	return graph.topologicalOrder().map((n) => byName.get(n)!);
}

/** v2.0 `integrations:` — integration name → `{type, config}` (CDS: the artifact manager's settings). */
function parseWorkflowIntegrations(
	src: SourceFile,
	field: Field | undefined,
	references: WorkflowReference[],
	options: ParseOptions,
): Record<string, WorkflowIntegration> | undefined {
	if (!field || src.isEmpty(field.value)) return undefined;
	const map = src.map(field.value, "integrations (integration name → settings)", field.keyNode);
	const out: Record<string, WorkflowIntegration> = {};
	for (const entry of map ? src.fields(map) : []) {
		const usedBy = "the workflow's integrations";
		references.push({ kind: "integration", name: entry.key, node: entry.keyNode, usedBy });
		const what = `integration '${entry.key}' of the workflow`;
		if (src.isEmpty(entry.value)) {
			out[entry.key] = { type: undefined, config: {} };
			continue;
		}
		const item = src.map(entry.value, what, entry.keyNode);
		if (!item) continue;
		const fields = src.knownFields(item, what, ["type", "config"]);
		out[entry.key] = {
			type: src.string(fields.get("type"), `type of ${what}`),
			config: parseIntegrationSettings(src, fields.get("config"), what, { ...options, secrets: true }),
		};
	}
	return Object.keys(out).length > 0 ? out : undefined;
}
