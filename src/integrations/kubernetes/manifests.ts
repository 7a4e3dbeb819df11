// The objects a Kubernetes deployment applies: every YAML document of the files the
// `deployment_files` glob names (or of `helm template`'s output), `List` kinds flattened, empty
// documents skipped, each checked for apiVersion/kind/metadata.name and put in the
// integration's namespace when it names none (cluster-scoped kinds ignore it: the API says so).

import { parseAllDocuments } from "yaml";

export interface KubeObject {
	apiVersion: string;
	kind: string;
	metadata: { name: string; namespace?: string; [key: string]: unknown };
	[key: string]: unknown;
}

/** The kinds whose rollout a deployment waits for (and rolls back). */
export const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet"]);

function isRecord(v: unknown): v is Record<string, unknown> {
	return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The objects of one YAML text (`source` names it in errors). */
export function readManifests(text: string, source: string): KubeObject[] {
	const objects: KubeObject[] = [];
	const docs = parseAllDocuments(text);
	docs.forEach((doc, index) => {
		if (doc.errors.length > 0)
			throw new Error(`${source}: document ${index + 1}: ${doc.errors[0]!.message.split("\n")[0]}`);
		const value = doc.toJS();
		if (value === null || value === undefined) return;
		const where = `${source}: document ${index + 1}`;
		const items =
			isRecord(value) &&
			typeof value.kind === "string" &&
			value.kind.endsWith("List") &&
			Array.isArray(value.items)
				? value.items
				: [value];
		for (const item of items) objects.push(checkObject(item, where));
	});
	return objects;
}

function checkObject(value: unknown, where: string): KubeObject {
	if (!isRecord(value)) throw new Error(`${where}: not a Kubernetes object (a mapping)`);
	if (typeof value.apiVersion !== "string" || !value.apiVersion) throw new Error(`${where}: no apiVersion`);
	if (typeof value.kind !== "string" || !value.kind) throw new Error(`${where}: no kind`);
	const metadata = value.metadata;
	if (!isRecord(metadata) || typeof metadata.name !== "string" || !metadata.name)
		throw new Error(`${where}: ${value.kind} has no metadata.name (generateName cannot be applied)`);
	return value as KubeObject;
}

/** `Kind/name` (with the namespace when it has one), as the step log names an object. */
export function objectRef(o: KubeObject): string {
	return `${o.kind}/${o.metadata.name}`;
}

/** The group and version of an apiVersion (`apps/v1` → apps, v1; `v1` → core). */
export function groupVersion(apiVersion: string): { group: string; version: string } {
	const slash = apiVersion.indexOf("/");
	return slash < 0
		? { group: "", version: apiVersion }
		: { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** The API path of the resource list of a group/version (`/api/v1`, `/apis/apps/v1`). */
export function apiPrefix(apiVersion: string): string {
	const { group, version } = groupVersion(apiVersion);
	return group ? `/apis/${group}/${version}` : `/api/${version}`;
}

/** An object's path: `prefix[/namespaces/ns]/resource/name`. */
export function objectPath(
	o: KubeObject,
	resource: { name: string; namespaced: boolean },
	namespace: string,
): string {
	const ns = resource.namespaced
		? `/namespaces/${encodeURIComponent(o.metadata.namespace ?? namespace)}`
		: "";
	return `${apiPrefix(o.apiVersion)}${ns}/${resource.name}/${encodeURIComponent(o.metadata.name)}`;
}
