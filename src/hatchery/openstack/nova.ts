// The parts of the Nova v2.1 API the hatchery uses: servers (create, show, list by tag, delete),
// flavors, images and volume attachments. Every call names its microversion: 2.52 (tags given
// at create time) except the image listing, a proxy to Glance that Nova removed in 2.36, asked
// at 2.1 — so no Glance client is needed to turn an image name into the UUID Nova wants.

import type { Keystone } from "../../openstack/keystone.ts";
import { openstackCall } from "../../openstack/request.ts";

export const NOVA_MICROVERSION = "2.52";
const IMAGE_PROXY_MICROVERSION = "2.1";

export interface NovaServer {
	id: string;
	name: string;
	status: string;
	metadata: Record<string, string>;
	tags?: string[];
	created?: string;
	fault?: { code: number; message: string; details?: string };
	"OS-EXT-STS:task_state"?: string | null;
}

export interface NovaFlavor {
	id: string;
	name: string;
	ram: number;
	vcpus: number;
	disk: number;
}

export interface NovaImage {
	id: string;
	name: string;
	status: string;
}

export interface ServerCreate {
	name: string;
	flavorRef: string;
	imageRef: string;
	networks: Array<{ uuid: string }> | "auto" | "none";
	key_name?: string;
	metadata: Record<string, string>;
	tags: string[];
	user_data: string;
}

export class NovaClient {
	private readonly keystone: Keystone;
	constructor(keystone: Keystone) {
		this.keystone = keystone;
	}

	private call<T>(
		method: string,
		path: string,
		body?: unknown,
		missingOk = false,
		version = NOVA_MICROVERSION,
	) {
		return openstackCall<T>(this.keystone, "compute", method, path, {
			body,
			missingOk,
			headers: { "X-OpenStack-Nova-API-Version": version, "OpenStack-API-Version": `compute ${version}` },
		});
	}

	async createServer(server: ServerCreate): Promise<string> {
		const r = await this.call<{ server: { id: string } }>("POST", "/servers", { server });
		return r!.server.id;
	}

	async getServer(id: string): Promise<NovaServer | undefined> {
		return (
			await this.call<{ server: NovaServer }>("GET", `/servers/${encodeURIComponent(id)}`, undefined, true)
		)?.server;
	}

	/** The servers carrying every tag of `tags` (Nova's `?tags=` filter). */
	async listServers(tags: string[]): Promise<NovaServer[]> {
		const q = new URLSearchParams({ tags: tags.join(",") });
		return (await this.call<{ servers: NovaServer[] }>("GET", `/servers/detail?${q}`))!.servers;
	}

	async deleteServer(id: string): Promise<void> {
		await this.call("DELETE", `/servers/${encodeURIComponent(id)}`, undefined, true);
	}

	async flavors(): Promise<NovaFlavor[]> {
		return (await this.call<{ flavors: NovaFlavor[] }>("GET", "/flavors/detail"))!.flavors;
	}

	async images(): Promise<NovaImage[]> {
		return (await this.call<{ images: NovaImage[] }>(
			"GET",
			"/images/detail",
			undefined,
			false,
			IMAGE_PROXY_MICROVERSION,
		))!.images;
	}

	async attachVolume(serverId: string, volumeId: string): Promise<void> {
		await this.call("POST", `/servers/${encodeURIComponent(serverId)}/os-volume_attachments`, {
			volumeAttachment: { volumeId },
		});
	}

	async detachVolume(serverId: string, volumeId: string): Promise<void> {
		await this.call(
			"DELETE",
			`/servers/${encodeURIComponent(serverId)}/os-volume_attachments/${encodeURIComponent(volumeId)}`,
			undefined,
			true,
		);
	}
}
