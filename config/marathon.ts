// The Marathon hatchery driver's knobs (CDS_HATCHERY_DRIVER=marathon; its maximum of apps is
// CDS_HATCHERY_MAX_WORKERS), read with the hatchery's settings. The Marathon URL is required
// only when the driver is `marathon`.

import {
	ConfigError,
	duration,
	type Env,
	list,
	oneOf,
	optionalString,
	readAll,
	secret,
	string,
	url,
} from "./settings.ts";

const [password, passwordFile] = secret(
	"CDS_MARATHON_PASSWORD",
	"password of `CDS_MARATHON_USER` (HTTP basic auth, Marathon's `--http_credentials`); removed from the node's environment at start",
);
const [token, tokenFile] = secret(
	"CDS_MARATHON_TOKEN",
	"an authentication token sent as `Authorization: token=<t>` (DC/OS); exclusive with `CDS_MARATHON_USER`; removed from the node's environment at start",
);

const PATH_ID = {
	pattern: /^\/?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\/[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/,
	expected: "a Marathon path: lowercase letters, digits and '-', segments separated by '/'",
};
const PAIR = { pattern: /^[^=\s]+=[^=\s]+$/, expected: "name=value pairs" };
const LISTEN = { pattern: /^[^\s:]+:\d{1,5}$/, expected: "host:port" };

export const MARATHON_SETTINGS = {
	url: url(
		"CDS_MARATHON_URL",
		["http:", "https:"],
		"Marathon's base URL for the Marathon hatchery driver (`http://marathon.mesos:8080`); required with CDS_HATCHERY_DRIVER=marathon",
	),
	user: optionalString("CDS_MARATHON_USER", "user of Marathon's HTTP basic auth"),
	password,
	passwordFile,
	token,
	tokenFile,
	appPrefix: string(
		"CDS_MARATHON_APP_PREFIX",
		"/cds-workers",
		"the Marathon group under which worker apps are made (`<prefix>/<hatchery>/<job hash>`): give Marathon users read access to it sparingly",
		PATH_ID,
	),
	images: list(
		"CDS_MARATHON_IMAGES",
		"worker model → container image, `model=image` comma-separated; a model not listed is its own image name",
		PAIR,
	),
	defaultImage: string(
		"CDS_MARATHON_DEFAULT_IMAGE",
		"ovhcom/cds-worker:latest",
		"the container image of jobs that require no model",
	),
	containerType: oneOf(
		"CDS_MARATHON_CONTAINER",
		["DOCKER", "MESOS"] as const,
		"DOCKER",
		"the containerizer of worker apps: `DOCKER` (Docker engine) or `MESOS` (Mesos' own, with the Docker image)",
	),
	workerCommand: string(
		"CDS_MARATHON_WORKER_COMMAND",
		"node /opt/cds/bin/cds-worker.mjs",
		"the worker's command in the image, as shell words (it reads its assignment, fetched once into the task's sandbox, on stdin)",
	),
	cpus: string("CDS_MARATHON_CPUS", "0.5", "CPUs of each worker app", {
		pattern: /^(\d+(\.\d+)?|\.\d+)$/,
		expected: "a decimal number",
	}),
	memDefaultMb: string(
		"CDS_MARATHON_MEM_MB",
		"1024",
		"memory of a worker app (MiB) when its job asks none (a job's `memory` requirement wins)",
		{ pattern: /^\d+$/, expected: "a whole number of MiB" },
	),
	constraints: list(
		"CDS_MARATHON_CONSTRAINTS",
		"Marathon constraints of worker apps, `field:OPERATOR[:value]` comma-separated (`hostname:UNIQUE`, `rack:LIKE:r1`)",
		{ pattern: /^[^:\s]+:[A-Z_]+(:[^:\s]+)?$/, expected: "field:OPERATOR[:value]" },
	),
	assignmentListen: string(
		"CDS_MARATHON_ASSIGNMENT_LISTEN",
		"0.0.0.0:0",
		"where the hatchery serves each worker's one-time assignment URL (`host:port`; port 0: any free port)",
		LISTEN,
	),
	assignmentUrl: optionalString(
		"CDS_MARATHON_ASSIGNMENT_URL",
		"the base URL Mesos agents fetch assignments from (the hatchery as the agents reach it)",
		undefined,
		"`http://<hostname>:<listening port>`",
	),
	startTimeoutMs: duration(
		"CDS_MARATHON_START_TIMEOUT_MS",
		120_000,
		"how long a worker app may wait for its task to run (no offer fits, the image cannot be pulled…) before its job fails with Marathon's reason",
		{ min: 100 },
	),
	pollMs: duration(
		"CDS_MARATHON_POLL_MS",
		1000,
		"how often the driver reads its apps and their tasks from Marathon",
		{
			min: 10,
		},
	),
	requestTimeoutMs: duration("CDS_MARATHON_REQUEST_TIMEOUT_MS", 10_000, "timeout of each call to Marathon", {
		min: 100,
	}),
};

export interface MarathonSettings
	extends Omit<
		ReturnType<typeof readAll<typeof MARATHON_SETTINGS>>,
		"images" | "constraints" | "passwordFile" | "tokenFile" | "cpus" | "memDefaultMb"
	> {
	images: Record<string, string>;
	constraints: string[][];
	cpus: number;
	memDefaultMb: number;
}

/** The Marathon knobs; `required`: the node runs the Marathon driver, so its URL must be set. */
export function readMarathonSettings(env: Env, required: boolean): MarathonSettings {
	const {
		images,
		constraints,
		passwordFile: _p,
		tokenFile: _t,
		cpus,
		memDefaultMb,
		...rest
	} = readAll(env, MARATHON_SETTINGS);
	if (required && !rest.url)
		throw new ConfigError("CDS_HATCHERY_DRIVER=marathon needs CDS_MARATHON_URL (Marathon's base URL)");
	if (rest.token && rest.user)
		throw new ConfigError("CDS_MARATHON_TOKEN and CDS_MARATHON_USER are both set: keep one");
	if (rest.user && !rest.password)
		throw new ConfigError("CDS_MARATHON_USER is set without CDS_MARATHON_PASSWORD");
	const out: Record<string, string> = {};
	for (const item of images ?? []) out[item.slice(0, item.indexOf("="))] = item.slice(item.indexOf("=") + 1);
	return {
		...rest,
		appPrefix: `/${rest.appPrefix.replace(/^\/+|\/+$/g, "")}`,
		images: out,
		constraints: (constraints ?? []).map((c) => c.split(":")),
		cpus: Number(cpus),
		memDefaultMb: Number(memDefaultMb),
	};
}
