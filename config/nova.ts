// The Nova compute hatchery's knobs (CDS_HATCHERY_DRIVER=openstack, docs/openstack.md): the
// Keystone v3 credentials it authenticates with, and what each worker server is made of. Its
// maximum of servers is CDS_HATCHERY_MAX_WORKERS. Nothing here is required unless the driver
// is `openstack`: the driver then names what is missing (the node exits 2).

import { duration, type Env, list, oneOf, optionalString, readAll, secret, string, url } from "./settings.ts";

const [password, passwordFile] = secret(
	"CDS_OPENSTACK_PASSWORD",
	"the Keystone password of the Nova hatchery's user; removed from the node's environment at start",
);

const PAIR = { pattern: /^[^=\s]+=[^=\s]+$/, expected: "name=value pairs" };

export const INTERFACE_CHOICES = ["public", "internal", "admin"] as const;

export const NOVA_SETTINGS = {
	authUrl: url(
		"CDS_OPENSTACK_AUTH_URL",
		["http:", "https:"],
		"the Keystone v3 URL of the Nova hatchery (`https://keystone.example:5000/v3`; a v2.0 URL is used as v3 at that host, with a warning: v2.0 is gone from OpenStack)",
	),
	username: optionalString("CDS_OPENSTACK_USERNAME", "the Keystone user the Nova hatchery authenticates as"),
	password,
	passwordFile,
	project: optionalString(
		"CDS_OPENSTACK_PROJECT",
		"the project (tenant) whose servers and volumes the hatchery manages",
	),
	domain: string("CDS_OPENSTACK_DOMAIN", "Default", "the Keystone domain of the user and of the project"),
	region: optionalString(
		"CDS_OPENSTACK_REGION",
		"the region whose compute and volumev3 endpoints are used (default: the first the catalog lists)",
	),
	interface: oneOf(
		"CDS_OPENSTACK_INTERFACE",
		INTERFACE_CHOICES,
		"public",
		"which endpoint of the service catalog the hatchery calls",
	),
	network: optionalString(
		"CDS_OPENSTACK_NETWORK",
		"the network (UUID) worker servers are attached to; unset: Nova's automatic allocation (`auto`)",
	),
	keyPair: optionalString(
		"CDS_OPENSTACK_KEY_PAIR",
		"the key pair injected in worker servers (for operators' ssh)",
	),
	images: list(
		"CDS_OPENSTACK_IMAGES",
		"worker model → image name or UUID, `model=image` comma-separated; a model not listed is its own image name",
		PAIR,
	),
	defaultImage: string(
		"CDS_OPENSTACK_DEFAULT_IMAGE",
		"cds-worker",
		"the image of jobs that require no model",
	),
	defaultFlavor: optionalString(
		"CDS_OPENSTACK_DEFAULT_FLAVOR",
		"the flavor (name) of jobs without a memory requirement; default: the smallest flavor by RAM",
	),
	workerCommand: string(
		"CDS_OPENSTACK_WORKER_COMMAND",
		"node /opt/cds/bin/cds-worker.mjs",
		"the worker's command in the image, space-separated (the boot script feeds it its assignment on stdin)",
	),
	workspaceMount: string(
		"CDS_OPENSTACK_WORKSPACE_MOUNT",
		"/mnt/cds-workspace",
		"where the boot script mounts a job's persistent workspace volume (a directory per workspace below it)",
		{ pattern: /^\/\S*$/, expected: "an absolute path" },
	),
	pollMs: duration(
		"CDS_OPENSTACK_POLL_MS",
		2000,
		"how often the hatchery lists its servers (Nova has no watch)",
		{
			min: 50,
		},
	),
	buildTimeoutMs: duration(
		"CDS_OPENSTACK_BUILD_TIMEOUT_MS",
		600_000,
		"how long a worker server (or a workspace volume) may take to become usable before its job fails",
		{ min: 100 },
	),
};

export interface NovaSettings
	extends Omit<ReturnType<typeof readAll<typeof NOVA_SETTINGS>>, "images" | "passwordFile"> {
	images: Record<string, string>;
}

export function readNovaSettings(env: Env): NovaSettings {
	const { images, passwordFile: _file, ...rest } = readAll(env, NOVA_SETTINGS);
	const map: Record<string, string> = {};
	for (const item of images ?? []) {
		const at = item.indexOf("=");
		map[item.slice(0, at)] = item.slice(at + 1);
	}
	return { ...rest, images: map };
}

/** What the driver cannot do without, by variable: empty when the cluster is configured. */
export function missingNovaSettings(s: NovaSettings): string[] {
	const missing: string[] = [];
	if (!s.authUrl) missing.push("CDS_OPENSTACK_AUTH_URL");
	if (!s.username) missing.push("CDS_OPENSTACK_USERNAME");
	if (!s.password) missing.push("CDS_OPENSTACK_PASSWORD (or CDS_OPENSTACK_PASSWORD_FILE)");
	if (!s.project) missing.push("CDS_OPENSTACK_PROJECT");
	return missing;
}
