// What one job's worker server is made of, as pure functions: its name, tags and metadata
// (linking server ↔ job ↔ hatchery, so a restarted hatchery of the same name finds and adopts
// its servers), its flavor (the smallest whose RAM covers the job's memory requirement), its
// image (the job's worker model), its workspace volume's name and size, and its user-data.

import { createHash } from "node:crypto";
import type { NovaSettings } from "../../../config/nova.ts";
import type { PersistentWorkspace, WorkerAssignment } from "../contract.ts";
import type { NovaFlavor, NovaImage } from "./nova.ts";

export const META_HATCHERY = "cds-hatchery";
export const META_JOB = "cds-job";
export const META_RUN = "cds-run";
/** The Cinder volume of the job's persistent workspace, if any. */
export const META_VOLUME = "cds-volume";
export const META_WORKSPACE = "cds-workspace";
export const TAG_MANAGED = "cds-ts";

const hash = (text: string, n: number) => createHash("sha256").update(text).digest("hex").slice(0, n);

/** The tag every server of a hatchery carries (Nova tags: ≤ 60 characters, no `,` or `/`). */
export function hatcheryTag(hatchery: string): string {
	const clean = hatchery.replace(/[^A-Za-z0-9._-]/g, "-");
	return clean === hatchery && clean.length <= 40
		? `cds-h-${clean}`
		: `cds-h-${clean.slice(0, 30)}-${hash(hatchery, 10)}`;
}

/** A server name unique per hatchery, job and attempt (a hostname: lower case, digits, '-'). */
export function serverName(hatchery: string, jobId: string, nonce: string): string {
	const readable = hatchery
		.toLowerCase()
		.replace(/[^a-z0-9-]/g, "-")
		.replace(/^-+|-+$/g, "")
		.slice(0, 40);
	return `cds-${readable ? `${readable}-` : ""}${hash(`${hatchery}\0${jobId}\0${nonce}`, 12)}`;
}

/** Nova metadata values are at most 255 characters. */
function metaValue(text: string): string {
	return text.length <= 255 ? text : `${text.slice(0, 240)}…${hash(text, 12)}`;
}

export function serverMetadata(
	hatchery: string,
	a: WorkerAssignment,
	volumeId?: string,
): Record<string, string> {
	const m: Record<string, string> = {
		[META_HATCHERY]: metaValue(hatchery),
		[META_JOB]: metaValue(a.jobId),
		[META_RUN]: metaValue(a.runId),
	};
	if (volumeId && a.workspace) {
		m[META_VOLUME] = volumeId;
		m[META_WORKSPACE] = a.workspace.id;
	}
	return m;
}

/**
 * The flavor of a job: the smallest by RAM (then vCPUs, then name) with at least `memoryMb`; a
 * job without a memory requirement gets the configured default flavor, else the smallest.
 */
export function chooseFlavor(
	flavors: readonly NovaFlavor[],
	memoryMb?: number,
	defaultName?: string,
): NovaFlavor {
	if (flavors.length === 0) throw new Error("Nova lists no flavor");
	const sorted = [...flavors].sort(
		(a, b) => a.ram - b.ram || a.vcpus - b.vcpus || a.name.localeCompare(b.name),
	);
	if (memoryMb === undefined) {
		if (!defaultName) return sorted[0]!;
		const f = flavors.find((x) => x.name === defaultName || x.id === defaultName);
		if (!f) throw new Error(`no flavor named ${defaultName} (CDS_OPENSTACK_DEFAULT_FLAVOR)`);
		return f;
	}
	const fit = sorted.find((f) => f.ram >= memoryMb);
	if (!fit) {
		const largest = sorted[sorted.length - 1]!;
		throw new Error(
			`no flavor has ${memoryMb} MiB of RAM (the largest, ${largest.name}, has ${largest.ram} MiB)`,
		);
	}
	return fit;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The image name (or UUID) of a job's worker model. */
export function imageNameFor(
	model: string | undefined,
	s: Pick<NovaSettings, "images" | "defaultImage">,
): string {
	if (!model) return s.defaultImage;
	return s.images[model] ?? model;
}

/** The UUID Nova wants for an image name (a UUID is taken as is); only active images count. */
export function resolveImage(images: readonly NovaImage[], nameOrId: string): string {
	if (UUID.test(nameOrId)) return nameOrId;
	const found = images.filter((i) => i.name === nameOrId && i.status.toLowerCase() === "active");
	if (found.length === 0) throw new Error(`no active image named ${nameOrId}`);
	if (found.length > 1)
		throw new Error(`${found.length} active images are named ${nameOrId}: name it by UUID`);
	return found[0]!.id;
}

/** The Cinder volume of a workspace: its name and size in GiB (rounded up, at least 1). */
export function workspaceVolume(ws: PersistentWorkspace): { name: string; sizeGiB: number } {
	return { name: `cds-ws-${ws.id}`, sizeGiB: Math.max(1, Math.ceil(ws.sizeBytes / 1024 ** 3)) };
}

/** Where the guest sees a Cinder volume under KVM/virtio: its serial is the volume id's first 20 characters. */
export function volumeDevice(volumeId: string): string {
	return `/dev/disk/by-id/virtio-${volumeId.slice(0, 20)}`;
}
