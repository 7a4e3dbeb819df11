// The parts of the Cinder v3 API the Nova hatchery uses for persistent workspaces: volumes
// found by name, created (size in GiB), shown, detached from a vanished server and deleted.
// Attaching and detaching go through Nova.

import type { Keystone } from "../../openstack/keystone.ts";
import { openstackCall } from "../../openstack/request.ts";

export const CINDER_MICROVERSION = "3.27";

export interface CinderVolume {
	id: string;
	name: string;
	status: string;
	size: number;
	metadata: Record<string, string>;
	attachments: Array<{ server_id: string; attachment_id?: string; device?: string }>;
}

export class CinderClient {
	private readonly keystone: Keystone;
	constructor(keystone: Keystone) {
		this.keystone = keystone;
	}

	private call<T>(method: string, path: string, body?: unknown, missingOk = false) {
		return openstackCall<T>(this.keystone, "volumev3", method, path, {
			body,
			missingOk,
			headers: { "OpenStack-API-Version": `volume ${CINDER_MICROVERSION}` },
		});
	}

	async findByName(name: string): Promise<CinderVolume[]> {
		const q = new URLSearchParams({ name });
		return (await this.call<{ volumes: CinderVolume[] }>("GET", `/volumes/detail?${q}`))!.volumes.filter(
			(v) => v.name === name,
		);
	}

	async create(name: string, sizeGiB: number, metadata: Record<string, string>): Promise<CinderVolume> {
		return (await this.call<{ volume: CinderVolume }>("POST", "/volumes", {
			volume: { name, size: sizeGiB, metadata, description: "CDS-TS persistent workspace" },
		}))!.volume;
	}

	async get(id: string): Promise<CinderVolume | undefined> {
		return (
			await this.call<{ volume: CinderVolume }>("GET", `/volumes/${encodeURIComponent(id)}`, undefined, true)
		)?.volume;
	}

	/** Cinder's `os-detach` action: the attachment ends on Cinder's side (its server is gone). */
	async forceDetach(id: string, attachmentId?: string): Promise<void> {
		await this.call("POST", `/volumes/${encodeURIComponent(id)}/action`, {
			"os-detach": attachmentId ? { attachment_id: attachmentId } : {},
		});
	}

	async delete(id: string): Promise<void> {
		await this.call("DELETE", `/volumes/${encodeURIComponent(id)}`, undefined, true);
	}
}
