// Persistent workspaces of the Nova hatchery as Cinder volumes, one per workspace id (named
// `cds-ws-<id>`): made ready for a job (created on first use, freed of an earlier job's
// attachment), attached to the job's server through Nova, detached at the job's end (waiting for
// `available`), deleted with the workflow.

import type { PersistentWorkspace } from "../contract.ts";
import { retrying } from "../../openstack/retry.ts";
import type { CinderClient, CinderVolume } from "./cinder.ts";
import type { NovaClient } from "./nova.ts";
import { workspaceVolume } from "./server-spec.ts";

export interface WorkspaceVolumesOptions {
	nova: NovaClient;
	cinder: CinderClient;
	hatchery: string;
	/** How often a volume's status is looked at while waiting. */
	pollMs: number;
	/** How long a volume may take to reach a status. */
	timeoutMs: number;
	stopped?: () => boolean;
	log?: (msg: string) => void;
}

export class WorkspaceVolumes {
	private readonly o: WorkspaceVolumesOptions;
	constructor(opts: WorkspaceVolumesOptions) {
		this.o = opts;
	}

	/** Waits for a volume to reach `status` (bounded); `error*` statuses end the wait at once. */
	async waitStatus(id: string, status: string): Promise<CinderVolume> {
		const deadline = Date.now() + this.o.timeoutMs;
		for (;;) {
			const v = await retrying(`showing volume ${id}`, () => this.o.cinder.get(id), {
				stopped: this.o.stopped,
			});
			if (!v) throw new Error(`volume ${id} is gone`);
			if (v.status === status) return v;
			if (v.status.startsWith("error")) throw new Error(`volume ${id} is in ${v.status}`);
			if (Date.now() > deadline) throw new Error(`volume ${id} stayed ${v.status}, not ${status}`);
			await new Promise((r) => setTimeout(r, Math.min(this.o.pollMs, 1000)));
		}
	}

	/** The volume of a workspace, created on first use; `available` when returned. */
	async ready(ws: PersistentWorkspace): Promise<CinderVolume> {
		const { name, sizeGiB } = workspaceVolume(ws);
		let v = (await this.o.cinder.findByName(name))[0];
		if (!v) {
			v = await this.o.cinder.create(name, sizeGiB, {
				"cds-workspace": ws.id,
				"cds-hatchery": this.o.hatchery,
			});
			this.o.log?.(`workspace ${ws.id}: volume ${v.id} created (${sizeGiB} GiB)`);
		}
		if (v.status === "available") return v;
		// Still attached for an earlier job of this workspace: that job is over (the run engine
		// leases a workspace to one job at a time), so the volume is freed.
		await this.free(v);
		return this.waitStatus(v.id, "available");
	}

	/**
	 * Ends every attachment of a volume: through Nova while its server exists, else on Cinder's
	 * side alone (`os-detach`: the server vanished with the volume attached).
	 */
	private async free(v: CinderVolume): Promise<void> {
		const stopped = this.o.stopped;
		for (const a of v.attachments) {
			const server = await retrying("showing a server", () => this.o.nova.getServer(a.server_id), {
				stopped,
			});
			if (server)
				await retrying(`detaching volume ${v.id}`, () => this.o.nova.detachVolume(a.server_id, v.id), {
					stopped,
				});
			else
				await retrying(
					`detaching volume ${v.id} of a vanished server`,
					() => this.o.cinder.forceDetach(v.id, a.attachment_id),
					{ stopped },
				);
		}
	}

	/** Attaches a volume to an ACTIVE server (nothing to do when it already is: an adopted server). */
	async attach(serverId: string, volumeId: string): Promise<void> {
		const v = await this.o.cinder.get(volumeId);
		if (!v) throw new Error(`volume ${volumeId} is gone`);
		if (v.attachments.some((a) => a.server_id === serverId)) return;
		await this.o.nova.attachVolume(serverId, volumeId);
		await this.waitStatus(volumeId, "in-use");
	}

	/** Detaches a volume from a server whose job is over, and waits until it is `available`. */
	async detach(serverId: string, volumeId: string): Promise<void> {
		const v = await this.o.cinder.get(volumeId);
		if (!v?.attachments.some((a) => a.server_id === serverId)) return;
		await retrying(`detaching volume ${volumeId}`, () => this.o.nova.detachVolume(serverId, volumeId), {
			stopped: this.o.stopped,
		});
		await this.waitStatus(volumeId, "available");
	}

	/** Deletes a workspace's volume for good (detached first). */
	async delete(id: string): Promise<void> {
		const { name } = workspaceVolume({ id, name: id, sizeBytes: 0, leaseId: "" });
		for (const v of await this.o.cinder.findByName(name)) {
			if (v.attachments.length > 0) {
				await this.free(v);
				await this.waitStatus(v.id, "available");
			}
			await retrying(`deleting volume ${v.id}`, () => this.o.cinder.delete(v.id), {
				stopped: this.o.stopped,
			});
		}
	}
}
