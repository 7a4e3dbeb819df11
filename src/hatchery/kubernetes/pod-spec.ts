// The manifests of one job's worker: a pod and the Secret holding its assignment (token
// included). The Secret is mounted as a file into the worker's container only, and fed to the
// worker on its stdin by the container's shell, so the token is never in the pod's
// environment, arguments or spec. The steps run in a second container (the step container,
// src/sandbox/step-runner.ts) that shares the workspace volume and nothing else: no Secret, no
// PID namespace — a step cannot read the token without any sandbox tool in the image. Labels link pod and Secret to the hatchery (its
// identity: a restarted replica of the same name adopts them) and to the job.

import { createHash } from "node:crypto";
import type { KubernetesSettings } from "../../../config/hatchery.ts";
import type { WorkerAssignment } from "../contract.ts";

export const LABEL_HATCHERY = "cds-ts.ovh/hatchery";
export const LABEL_JOB = "cds-ts.ovh/job";
export const ANNOTATION_JOB = "cds-ts.ovh/job-id";
export const ANNOTATION_RUN = "cds-ts.ovh/run-id";
export const ANNOTATION_HATCHERY = "cds-ts.ovh/hatchery-name";
/** Where the job Secret is mounted: /run is hidden from every step by the sandbox. */
export const TOKEN_DIR = "/run/cds-job";
export const ASSIGNMENT_FILE = `${TOKEN_DIR}/assignment`;

/** A label value (63 characters of [A-Za-z0-9._-], alphanumeric at both ends) standing for `text`. */
export function labelValue(text: string): string {
	const clean = text.replace(/[^A-Za-z0-9._-]/g, "-");
	if (clean.length <= 63 && /^[A-Za-z0-9](.*[A-Za-z0-9])?$/.test(clean) && clean === text) return clean;
	const hash = createHash("sha256").update(text).digest("hex").slice(0, 10);
	const head = clean.slice(0, 50).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
	return `${head}-${hash}`.replace(/^-/, "h-");
}

/**
 * The pod name of a job of a hatchery: a DNS subdomain, unique per job, hatchery and attempt
 * (`nonce`: a retried job, or a job of a recreated database, never meets an old pod's name).
 */
export function podName(hatchery: string, jobId: string, nonce = ""): string {
	const hash = createHash("sha256").update(`${hatchery}\0${jobId}\0${nonce}`).digest("hex").slice(0, 12);
	const readable = hatchery
		.toLowerCase()
		.replace(/[^a-z0-9-]/g, "-")
		.replace(/^-+|-+$/g, "")
		.slice(0, 40);
	return `cds-${readable ? `${readable}-` : ""}${hash}`;
}

export function imageFor(model: string | undefined, k: KubernetesSettings): string {
	if (!model) return k.defaultImage;
	return k.images[model] ?? model;
}

export interface Toleration {
	key: string;
	operator: "Equal" | "Exists";
	value?: string;
	effect: string;
}

/** `key=value:Effect` or `key:Effect` (validated by the configuration). */
export function parseToleration(text: string): Toleration {
	const colon = text.lastIndexOf(":");
	const effect = text.slice(colon + 1);
	const [key, value] = text.slice(0, colon).split("=");
	return value === undefined
		? { key: key!, operator: "Exists", effect }
		: { key: key!, operator: "Equal", value, effect };
}

export interface PodSpecInput {
	hatchery: string;
	assignment: WorkerAssignment;
	settings: KubernetesSettings;
	/** The worker's environment (name, workspace, sandbox plan): never the token. */
	workerEnv: Record<string, string>;
	/** Makes the pod's name unique to this attempt. */
	nonce?: string;
}

/** The Secret of a job: its assignment line, as the worker reads it on stdin. */
export function jobSecret(input: PodSpecInput) {
	const { assignment: a, hatchery } = input;
	const name = podName(hatchery, a.jobId, input.nonce);
	const line = `${JSON.stringify({ type: "assign", apiUrl: a.apiUrl, token: a.token, jobId: a.jobId })}\n`;
	return {
		apiVersion: "v1",
		kind: "Secret",
		metadata: { name, labels: labels(input), annotations: annotations(input) },
		type: "Opaque",
		data: { assignment: Buffer.from(line).toString("base64") },
	};
}

function labels(input: PodSpecInput): Record<string, string> {
	return {
		[LABEL_HATCHERY]: labelValue(input.hatchery),
		[LABEL_JOB]: labelValue(input.assignment.jobId),
		"app.kubernetes.io/managed-by": "cds-ts",
		"app.kubernetes.io/component": "worker",
	};
}

function annotations(input: PodSpecInput): Record<string, string> {
	return {
		[ANNOTATION_JOB]: input.assignment.jobId,
		[ANNOTATION_RUN]: input.assignment.runId,
		[ANNOTATION_HATCHERY]: input.hatchery,
	};
}

/** The volume both containers share: the workers' base directory (workspaces, the step socket). */
const WORK_VOLUME = "work";
/** The step container's socket, in the shared volume. */
export function stepSocket(baseDir: string): string {
	return `${baseDir.replace(/\/+$/, "")}/.cds-steps.sock`;
}

/**
 * What every container of a worker pod runs under: the "restricted" Pod Security Standard —
 * never root, no privilege escalation, no capability, the runtime's default seccomp profile.
 */
const CONTAINER_SECURITY = {
	allowPrivilegeEscalation: false,
	capabilities: { drop: ["ALL"] },
};

export function workerPod(input: PodSpecInput) {
	const { assignment: a, settings: k, hatchery } = input;
	const name = podName(hatchery, a.jobId, input.nonce);
	const memory = a.requirements.memoryMb;
	const command = k.workerCommand.split(/\s+/).filter(Boolean);
	const image = imageFor(a.requirements.model, k);
	const baseDir = input.workerEnv.CDS_WORKER_BASEDIR ?? "/var/lib/cds/workers";
	const socket = stepSocket(baseDir);
	const env = (vars: Record<string, string>) =>
		Object.entries(vars).map(([n, value]) => ({ name: n, value }));
	const workMount = { name: WORK_VOLUME, mountPath: baseDir };
	const worker = {
		name: "worker",
		image,
		// The shell gives the mounted assignment to the worker as its stdin, then is gone (exec).
		command: ["sh", "-c", `exec "$@" < ${ASSIGNMENT_FILE}`, "cds-worker", ...command],
		env: env({
			...input.workerEnv,
			CDS_WORKER_NAME: name,
			CDS_HELM_BIN: k.helmBin,
			...(k.stepContainer ? { CDS_WORKER_STEP_RUNNER: socket } : {}),
		}),
		resources:
			memory !== undefined
				? { requests: { memory: `${memory}Mi` }, limits: { memory: `${memory}Mi` } }
				: undefined,
		securityContext: CONTAINER_SECURITY,
		volumeMounts: [{ name: "job", mountPath: TOKEN_DIR, readOnly: true }, workMount],
	};
	// The steps' container: same image, the workspace volume, never the job's Secret, and a PID
	// namespace of its own (shareProcessNamespace stays false) — the worker's /proc is not there.
	const steps: typeof worker = {
		name: "steps",
		image,
		command,
		env: env({
			HOME: input.workerEnv.HOME ?? baseDir,
			LANG: input.workerEnv.LANG ?? "C.UTF-8",
			CDS_WORKER_ROLE: "steps",
			CDS_WORKER_STEP_RUNNER: socket,
		}),
		resources: undefined,
		securityContext: CONTAINER_SECURITY,
		volumeMounts: [workMount],
	};
	return {
		apiVersion: "v1",
		kind: "Pod",
		metadata: { name, labels: labels(input), annotations: annotations(input) },
		spec: {
			restartPolicy: "Never",
			// The job's timeout, plus a margin for the worker to report: the pod cannot outlive it.
			activeDeadlineSeconds: a.timeoutSeconds > 0 ? a.timeoutSeconds + 300 : undefined,
			terminationGracePeriodSeconds: 10,
			automountServiceAccountToken: false,
			serviceAccountName: k.serviceAccount,
			nodeSelector: Object.keys(k.nodeSelector).length > 0 ? k.nodeSelector : undefined,
			tolerations: k.tolerations.length > 0 ? k.tolerations.map(parseToleration) : undefined,
			securityContext: {
				runAsNonRoot: true,
				runAsUser: k.runAsUser,
				runAsGroup: k.runAsUser,
				// The Secret's files are root:fsGroup 0440: the worker reads them through this group.
				fsGroup: k.fsGroup,
				seccompProfile: { type: "RuntimeDefault" },
			},
			volumes: [
				{ name: "job", secret: { secretName: name, defaultMode: 0o440 } },
				{ name: WORK_VOLUME, emptyDir: {} },
			],
			containers: k.stepContainer ? [worker, steps] : [worker],
		},
	};
}
