// A STAND-IN for an OpenStack cloud's Keystone v3 token endpoint, Nova v2.1 compute API and
// Cinder v3 volume API, for the Nova hatchery's suites (no OpenStack can run here). It follows
// the published API references (docs.openstack.org/api-ref/{identity,compute,block-storage})
// for the calls it models, validates every body against test/standins/openstack/schemas.ts and
// answers errors in the APIs' own shape (`{"badRequest": {"code": 400, "message": …}}`).
//
// What it models: password tokens scoped to one project (X-Subject-Token, expires_at, a catalog
// with `compute` and `volumev3` endpoints in one region, public interface; tokens expire, a
// revoked or expired token gets 401); the Nova microversion headers (2.1 … 2.96; `tags` at
// create from 2.52, the image proxy gone from 2.36 as in Nova); servers BUILD → ACTIVE →
// SHUTOFF when their boot script ends, DELETE (gone at once: 404 after); ERROR with `fault`;
// `?tags=` and `?name=` filters; flavors; images; the instance quota (403 `forbidden` or 413
// `overLimit`, "Quota exceeded for instances…"); os-volume_attachments; Cinder volumes creating
// → available → (attaching) in-use → (detaching) available, deleted only when available, name
// filter, the `os-detach` volume action. Each ACTIVE server runs its user-data as a local shell process (a "VM"): `mount`,
// `umount`, `blockdev`, `blkid`, `mkfs.ext4`, `poweroff` and `iptables` on its PATH are the stand-in's — `mount` of an attached
// volume's device (/dev/disk/by-id/virtio-<serial>) links the mount point to the volume's
// directory, and fails until the volume is attached, as a missing device does.
// Fault injection: images whose name matches `failImages` go ERROR at build (fault "Build of
// instance … aborted"); `quota` (instances, 403 or 413); `vanish(name)` (the server disappears
// without a trace, its process killed); `crash(name, message)` (ERROR with that fault while running);
// `hostDies(name)` (its compute host dies unheard: its process is killed, and the server stays
// ACTIVE — Nova changes no server of a dead host by itself; its `host_status`, admin-only by
// default, is not shown to the stand-in's project user, as Nova's default policy does not).
//
// What it does NOT model: Glance, Neutron (networks are taken on trust), the metadata service
// and config drives, key pairs (names taken on trust), scheduling, hosts, cells, resize/
// rebuild/reboot/actions, server groups, pagination and `changes-since`, Cinder types, snapshots,
// backups, the attachments API (3.27+) and multi-attach; volumes are directories, not block devices
// (no filesystem, no size limit); user-data other than a shell script (no cloud-config).

import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmodSync, createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import {
	CINDER_VOLUME_ACTION,
	CINDER_VOLUME_CREATE,
	compareVersions,
	KEYSTONE_AUTH,
	NOVA_SERVER_CREATE,
	NOVA_VOLUME_ATTACH,
	SERVER_FIELD_SINCE,
	validate,
} from "./schemas.ts";

export interface Flavor {
	id: string;
	name: string;
	ram: number;
	vcpus: number;
	disk: number;
}

export interface OpenStackStandinOptions {
	username?: string;
	password?: string;
	project?: string;
	domain?: string;
	region?: string;
	flavors?: Flavor[];
	images?: string[];
	/** Images whose servers go ERROR at build. */
	failImages?: RegExp;
	/** How long a server stays in BUILD (and a volume in creating). */
	buildMs?: number;
	/** Life of issued tokens. */
	tokenTtlMs?: number;
	dir?: string;
	log?: (msg: string) => void;
}

interface Server {
	id: string;
	name: string;
	status: "BUILD" | "ACTIVE" | "SHUTOFF" | "ERROR";
	flavorId: string;
	imageId: string;
	metadata: Record<string, string>;
	tags: string[];
	created: string;
	userData?: string;
	fault?: { code: number; message: string; created: string };
	dir: string;
	child?: ChildProcess;
}

interface Volume {
	id: string;
	name: string;
	size: number;
	status: string;
	metadata: Record<string, string>;
	created: string;
	attachments: Array<{
		server_id: string;
		attachment_id: string;
		volume_id: string;
		device: string;
		id: string;
	}>;
	dir: string;
}

const MAX_VERSION = "2.96";

class ApiError extends Error {
	readonly status: number;
	readonly fault: string;
	constructor(status: number, fault: string, message: string) {
		super(message);
		this.status = status;
		this.fault = fault;
	}
}

const badRequest = (m: string) => new ApiError(400, "badRequest", m);
const notFound = (m: string) => new ApiError(404, "itemNotFound", m);
const conflict = (m: string) => new ApiError(409, "conflictingRequest", m);

export class OpenStackStandin {
	readonly opts: Required<Omit<OpenStackStandinOptions, "failImages" | "log" | "dir">> &
		Pick<OpenStackStandinOptions, "failImages" | "log">;
	readonly projectId = randomUUID().replaceAll("-", "");
	readonly dir: string;
	/** Instances quota: undefined = unlimited. */
	quota?: { instances: number; code: 403 | 413 };
	private readonly tokens = new Map<string, number>();
	private readonly servers = new Map<string, Server>();
	private readonly volumes = new Map<string, Volume>();
	private readonly images: Array<{ id: string; name: string }>;
	private readonly http: http.Server;
	private readonly timers = new Set<NodeJS.Timeout>();
	/** Every request seen: method and path (tests check the driver's calls). */
	readonly requests: string[] = [];
	url = "";

	constructor(opts: OpenStackStandinOptions = {}) {
		this.opts = {
			username: opts.username ?? "cds",
			password: opts.password ?? "s3cret-standin",
			project: opts.project ?? "cds-ci",
			domain: opts.domain ?? "Default",
			region: opts.region ?? "RegionOne",
			flavors: opts.flavors ?? [
				{ id: "1", name: "m1.tiny", ram: 512, vcpus: 1, disk: 1 },
				{ id: "2", name: "m1.small", ram: 2048, vcpus: 1, disk: 20 },
				{ id: "3", name: "m1.medium", ram: 4096, vcpus: 2, disk: 40 },
				{ id: "4", name: "m1.large", ram: 8192, vcpus: 4, disk: 80 },
			],
			images: opts.images ?? ["cds-worker", "broken-image"],
			buildMs: opts.buildMs ?? 100,
			tokenTtlMs: opts.tokenTtlMs ?? 3_600_000,
			failImages: opts.failImages ?? /^broken-/,
			log: opts.log,
		};
		this.dir = opts.dir ?? mkdtempSync(path.join(tmpdir(), "openstack-standin-"));
		this.images = this.opts.images.map((name) => ({ id: randomUUID(), name }));
		this.http = http.createServer((req, res) => void this.handle(req, res));
	}

	async start(): Promise<void> {
		await new Promise<void>((r) => this.http.listen(0, "127.0.0.1", r));
		this.url = `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
	}

	/** The hatchery's environment pointing at this cloud. */
	env(): Record<string, string> {
		return {
			CDS_OPENSTACK_AUTH_URL: `${this.url}/identity/v3`,
			CDS_OPENSTACK_USERNAME: this.opts.username,
			CDS_OPENSTACK_PASSWORD: this.opts.password,
			CDS_OPENSTACK_PROJECT: this.opts.project,
			CDS_OPENSTACK_DOMAIN: this.opts.domain,
			CDS_OPENSTACK_REGION: this.opts.region,
		};
	}

	async stop(): Promise<void> {
		for (const t of this.timers) clearTimeout(t);
		for (const s of this.servers.values()) this.killInstance(s);
		this.http.closeAllConnections();
		await new Promise<void>((r) => this.http.close(() => r()));
	}

	// ---- fault injection and test views ----

	serverByName(name: string): Server | undefined {
		return [...this.servers.values()].find((s) => s.name === name);
	}

	listServers(): Array<Pick<Server, "id" | "name" | "status" | "metadata" | "tags">> {
		return [...this.servers.values()].map(({ id, name, status, metadata, tags }) => ({
			id,
			name,
			status,
			metadata,
			tags,
		}));
	}

	listVolumes(): Array<Pick<Volume, "id" | "name" | "status" | "size" | "attachments" | "dir">> {
		return [...this.volumes.values()].map(({ id, name, status, size, attachments, dir }) => ({
			id,
			name,
			status,
			size,
			attachments,
			dir,
		}));
	}

	/** The process group of a server's instance (its boot script). */
	pidOf(name: string): number | undefined {
		return this.serverByName(name)?.child?.pid;
	}

	/**
	 * The server disappears as if deleted behind the hatchery's back; `keepVolumes`: its volumes
	 * stay `in-use`, attached to it (a host lost with Cinder never told).
	 */
	vanish(name: string, options: { keepVolumes?: boolean } = {}): void {
		const s = this.serverByName(name);
		if (!s) throw new Error(`no server ${name}`);
		this.destroy(s, options.keepVolumes);
	}

	/** The server's host fails: ERROR with `message` as its fault, its instance killed. */
	crash(name: string, message: string): void {
		const s = this.serverByName(name);
		if (!s) throw new Error(`no server ${name}`);
		this.killInstance(s);
		s.status = "ERROR";
		s.fault = { code: 500, message, created: new Date().toISOString() };
	}

	/** The server's compute host dies: its instance is killed, and Nova still shows it ACTIVE. */
	hostDies(name: string): void {
		const s = this.serverByName(name);
		if (!s) throw new Error(`no server ${name}`);
		this.killInstance(s);
	}

	// ---- HTTP ----

	private later(ms: number, fn: () => void): void {
		const t = setTimeout(() => {
			this.timers.delete(t);
			fn();
		}, ms);
		this.timers.add(t);
	}

	private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
		const chunks: Buffer[] = [];
		for await (const c of req) chunks.push(c as Buffer);
		const raw = Buffer.concat(chunks).toString("utf8");
		const url = new URL(req.url ?? "/", this.url);
		this.requests.push(`${req.method} ${url.pathname}`);
		const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
			res.writeHead(status, {
				...(body !== undefined ? { "Content-Type": "application/json" } : {}),
				...headers,
			});
			res.end(body !== undefined ? JSON.stringify(body) : undefined);
		};
		try {
			let body: unknown;
			if (raw) {
				try {
					body = JSON.parse(raw);
				} catch {
					throw badRequest("Malformed request body");
				}
			}
			const p = url.pathname;
			if (p === "/identity/v3/auth/tokens" && req.method === "POST") return this.issueToken(body, send);
			const token = req.headers["x-auth-token"];
			const expires = typeof token === "string" ? this.tokens.get(token) : undefined;
			if (expires === undefined || expires < Date.now())
				throw new ApiError(401, "unauthorized", "The request you have made requires authentication.");
			if (p.startsWith("/compute/v2.1/")) {
				const version = this.novaVersion(req);
				const r = this.nova(
					req.method ?? "GET",
					p.slice("/compute/v2.1".length),
					url.searchParams,
					body,
					version,
				);
				return send(r.status, r.body, {
					"X-OpenStack-Nova-API-Version": version,
					Vary: "X-OpenStack-Nova-API-Version",
				});
			}
			const prefix = `/volume/v3/${this.projectId}`;
			if (p.startsWith(`${prefix}/`)) {
				const r = this.cinder(req.method ?? "GET", p.slice(prefix.length), url.searchParams, body);
				return send(r.status, r.body);
			}
			throw notFound(`no route ${req.method} ${p}`);
		} catch (e) {
			if (e instanceof ApiError) {
				const body =
					e.status === 401
						? { error: { code: 401, title: "Unauthorized", message: e.message } }
						: { [e.fault]: { code: e.status, message: e.message } };
				return send(e.status, body);
			}
			this.opts.log?.(`internal error: ${(e as Error).stack}`);
			return send(500, { computeFault: { code: 500, message: (e as Error).message } });
		}
	}

	private issueToken(
		body: unknown,
		send: (s: number, b?: unknown, h?: Record<string, string>) => void,
	): void {
		const problem = validate(KEYSTONE_AUTH, body);
		if (problem) throw new ApiError(400, "error", `Invalid input for field '${problem}'`);
		const auth = (body as { auth: Record<string, any> }).auth;
		const user = auth.identity.password?.user;
		const o = this.opts;
		if (
			!auth.identity.methods.includes("password") ||
			user?.name !== o.username ||
			user?.domain?.name !== o.domain ||
			user?.password !== o.password
		)
			throw new ApiError(401, "error", "The request you have made requires authentication.");
		const project = auth.scope?.project;
		if (project?.name !== o.project || project?.domain?.name !== o.domain)
			throw new ApiError(401, "error", "The request you have made requires authentication.");
		const token = `gAAAA${randomUUID().replaceAll("-", "")}`;
		const expiresAt = Date.now() + o.tokenTtlMs;
		this.tokens.set(token, expiresAt);
		const endpoint = (type: string, url: string) => ({
			type,
			name: type,
			endpoints: ["public", "internal"].map((iface) => ({
				id: randomUUID(),
				interface: iface,
				region_id: o.region,
				region: o.region,
				url,
			})),
		});
		send(
			201,
			{
				token: {
					methods: ["password"],
					expires_at: new Date(expiresAt).toISOString(),
					issued_at: new Date().toISOString(),
					user: { id: "u1", name: o.username, domain: { id: "default", name: o.domain } },
					project: { id: this.projectId, name: o.project, domain: { id: "default", name: o.domain } },
					catalog: [
						endpoint("compute", `${this.url}/compute/v2.1`),
						endpoint("volumev3", `${this.url}/volume/v3/${this.projectId}`),
					],
				},
			},
			{ "X-Subject-Token": token },
		);
	}

	/** Revokes every token (the driver must authenticate again). */
	revokeTokens(): void {
		this.tokens.clear();
	}

	private novaVersion(req: http.IncomingMessage): string {
		const legacy = req.headers["x-openstack-nova-api-version"];
		const modern = req.headers["openstack-api-version"];
		let v = typeof legacy === "string" ? legacy : undefined;
		if (typeof modern === "string" && modern.startsWith("compute ")) v = modern.slice(8).trim();
		if (!v) return "2.1";
		if (v === "latest") return MAX_VERSION;
		if (!/^2\.\d+$/.test(v) || compareVersions(v, "2.1") < 0 || compareVersions(v, MAX_VERSION) > 0)
			throw new ApiError(
				406,
				"computeFault",
				`Version ${v} is not supported by the API. Minimum is 2.1 and maximum is ${MAX_VERSION}.`,
			);
		return v;
	}

	// ---- Nova ----

	private nova(
		method: string,
		p: string,
		q: URLSearchParams,
		body: unknown,
		version: string,
	): { status: number; body?: unknown } {
		const parts = p.split("/").filter(Boolean);
		if (parts[0] === "flavors" && method === "GET" && parts[1] === "detail")
			return { status: 200, body: { flavors: this.opts.flavors.map((f) => ({ ...f, links: [] })) } };
		if (parts[0] === "images" && method === "GET") {
			if (compareVersions(version, "2.35") > 0) throw notFound("The resource could not be found.");
			return {
				status: 200,
				body: { images: this.images.map((i) => ({ ...i, status: "ACTIVE", metadata: {}, links: [] })) },
			};
		}
		if (parts[0] !== "servers") throw notFound("The resource could not be found.");
		if (parts.length === 1 && method === "POST") return this.createServer(body, version);
		if (parts.length === 2 && parts[1] === "detail" && method === "GET") {
			const tags = (q.get("tags") ?? "").split(",").filter(Boolean);
			const name = q.get("name");
			const servers = [...this.servers.values()].filter(
				(s) => tags.every((t) => s.tags.includes(t)) && (!name || new RegExp(name).test(s.name)),
			);
			return { status: 200, body: { servers: servers.map((s) => this.present(s, version)) } };
		}
		const s = parts[1] ? this.servers.get(parts[1]) : undefined;
		if (!s) throw notFound(`Instance ${parts[1]} could not be found.`);
		if (parts.length === 2 && method === "GET")
			return { status: 200, body: { server: this.present(s, version) } };
		if (parts.length === 2 && method === "DELETE") {
			this.destroy(s);
			return { status: 204 };
		}
		if (parts[2] === "os-volume_attachments") {
			if (parts.length === 3 && method === "POST") return this.attach(s, body);
			if (parts.length === 3 && method === "GET")
				return {
					status: 200,
					body: {
						volumeAttachments: [...this.volumes.values()].flatMap((v) =>
							v.attachments
								.filter((a) => a.server_id === s.id)
								.map((a) => ({ id: v.id, volumeId: v.id, serverId: s.id, device: a.device })),
						),
					},
				};
			if (parts.length === 4 && method === "DELETE") return this.detach(s, parts[3]!);
		}
		throw notFound("The resource could not be found.");
	}

	private present(s: Server, version: string) {
		return {
			id: s.id,
			name: s.name,
			status: s.status,
			tenant_id: this.projectId,
			user_id: "u1",
			metadata: s.metadata,
			...(compareVersions(version, "2.26") >= 0 ? { tags: s.tags } : {}),
			flavor: { id: s.flavorId, links: [] },
			image: { id: s.imageId, links: [] },
			created: s.created,
			updated: new Date().toISOString(),
			addresses: {},
			"OS-EXT-STS:vm_state": { BUILD: "building", ACTIVE: "active", SHUTOFF: "stopped", ERROR: "error" }[
				s.status
			],
			"OS-EXT-STS:task_state": s.status === "BUILD" ? "spawning" : null,
			"os-extended-volumes:volumes_attached": [...this.volumes.values()]
				.filter((v) => v.attachments.some((a) => a.server_id === s.id))
				.map((v) => ({ id: v.id, delete_on_termination: false })),
			...(s.fault ? { fault: s.fault } : {}),
		};
	}

	private createServer(body: unknown, version: string) {
		const problem = validate(NOVA_SERVER_CREATE, body);
		if (problem) throw badRequest(`Invalid input for field/attribute server. ${problem}`);
		const b = (body as { server: Record<string, any> }).server;
		for (const [field, since] of Object.entries(SERVER_FIELD_SINCE))
			if (field in b && compareVersions(version, since) < 0)
				throw badRequest(
					`Invalid input for field/attribute server. Additional properties are not allowed ('${field}' was unexpected)`,
				);
		const flavor = this.opts.flavors.find((f) => f.id === b.flavorRef);
		if (!flavor) throw badRequest(`Flavor ${b.flavorRef} could not be found.`);
		const image = this.images.find((i) => i.id === b.imageRef);
		if (!image) throw badRequest(`Can not find requested image`);
		if (b.key_name === "") throw badRequest("Invalid key_name provided.");
		const used = [...this.servers.values()].length;
		if (this.quota && used >= this.quota.instances) {
			const message = `Quota exceeded for instances: Requested 1, but already used ${used} of ${this.quota.instances} instances`;
			throw this.quota.code === 403
				? new ApiError(403, "forbidden", message)
				: new ApiError(413, "overLimit", message);
		}
		const id = randomUUID();
		const dir = path.join(this.dir, "servers", id);
		mkdirSync(path.join(dir, "devices"), { recursive: true, mode: 0o700 });
		const s: Server = {
			id,
			name: b.name,
			status: "BUILD",
			flavorId: flavor.id,
			imageId: image.id,
			metadata: b.metadata ?? {},
			tags: b.tags ?? [],
			created: new Date().toISOString(),
			userData: b.user_data,
			dir,
		};
		this.servers.set(id, s);
		this.later(this.opts.buildMs, () => {
			if (this.servers.get(id) !== s || s.status !== "BUILD") return;
			if (this.opts.failImages?.test(image.name)) {
				s.status = "ERROR";
				s.fault = {
					code: 500,
					message: `Build of instance ${id} aborted: image ${image.name} failed to boot`,
					created: new Date().toISOString(),
				};
				return;
			}
			s.status = "ACTIVE";
			this.boot(s);
		});
		return {
			status: 202,
			body: { server: { id, links: [], "OS-DCF:diskConfig": "MANUAL", security_groups: [] } },
		};
	}

	/** The "VM": the user-data script as a local process, with the stand-in's mount/poweroff. */
	private boot(s: Server): void {
		if (!s.userData) return; // a server without user-data runs nothing (and stays ACTIVE)
		const script = path.join(s.dir, "user-data");
		writeFileSync(script, Buffer.from(s.userData, "base64"), { mode: 0o700 });
		const bin = path.join(s.dir, "bin");
		const devices = path.join(s.dir, "devices");
		mkdirSync(bin, { recursive: true });
		mkdirSync(devices, { recursive: true });
		const shim = (name: string, text: string) => {
			writeFileSync(path.join(bin, name), `#!/bin/sh\n${text}\n`);
			chmodSync(path.join(bin, name), 0o755);
		};
		// mount DEVICE DIR: DEVICE must be attached (devices/<basename> names the volume's directory).
		shim(
			"mount",
			`f=${JSON.stringify(devices)}/$(basename "$1"); [ -f "$f" ] || { echo "mount: $1: special device does not exist" >&2; exit 32; }\nrmdir "$2" 2>/dev/null; ln -sfn "$(cat "$f")" "$2"`,
		);
		// blockdev/blkid: an attached volume is a device with a filesystem (a directory is "formatted").
		const attached = `for DEV; do :; done\nf=${JSON.stringify(devices)}/$(basename "$DEV"); [ -f "$f" ] || exit 2`;
		shim("blockdev", `${attached}\necho 1073741824`);
		shim("blkid", `${attached}\necho ext4`);
		shim("mkfs.ext4", "exit 0");
		shim("umount", '[ -L "$1" ] && rm -f "$1"; mkdir -p "$1"');
		shim("poweroff", "exit 0");
		shim("iptables", "exit 0");
		const out = createWriteStream(path.join(s.dir, "console.log"));
		const child = spawn("sh", [script], {
			cwd: s.dir,
			detached: true,
			env: { PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}` },
			stdio: ["ignore", "pipe", "pipe"],
		});
		child.stdout?.pipe(out, { end: false });
		child.stderr?.pipe(out, { end: false });
		child.on("close", () => out.end());
		child.on("error", () => {});
		child.on("exit", () => {
			if (s.child === child && s.status === "ACTIVE" && this.servers.get(s.id) === s) s.status = "SHUTOFF";
		});
		s.child = child;
	}

	private killInstance(s: Server): void {
		const c = s.child;
		s.child = undefined;
		if (c?.pid !== undefined && c.exitCode === null && c.signalCode === null)
			try {
				process.kill(-c.pid, "SIGKILL");
			} catch {
				/* gone */
			}
	}

	private destroy(s: Server, keepVolumes = false): void {
		this.killInstance(s);
		this.servers.delete(s.id);
		// Nova detaches a deleted server's volumes.
		if (!keepVolumes)
			for (const v of this.volumes.values())
				if (v.attachments.some((a) => a.server_id === s.id)) {
					v.attachments = v.attachments.filter((a) => a.server_id !== s.id);
					if (v.attachments.length === 0) v.status = "available";
				}
		rmSync(s.dir, { recursive: true, force: true });
	}

	private attach(s: Server, body: unknown) {
		const problem = validate(NOVA_VOLUME_ATTACH, body);
		if (problem) throw badRequest(`Invalid input for field/attribute volumeAttachment. ${problem}`);
		const volumeId = (body as { volumeAttachment: { volumeId: string } }).volumeAttachment.volumeId;
		const v = this.volumes.get(volumeId);
		if (!v) throw notFound(`Volume ${volumeId} could not be found.`);
		if (s.status !== "ACTIVE" && s.status !== "SHUTOFF")
			throw conflict(
				`Cannot 'attach_volume' instance ${s.id} while it is in vm_state ${s.status.toLowerCase()}`,
			);
		if (v.status !== "available")
			throw badRequest(`Invalid volume: volume ${v.id} status must be available, but is ${v.status}`);
		v.status = "attaching";
		const device = "/dev/vdb";
		const attachmentId = randomUUID();
		this.later(Math.min(50, this.opts.buildMs), () => {
			if (this.volumes.get(v.id) !== v || !this.servers.has(s.id)) {
				if (v.status === "attaching") v.status = "available";
				return;
			}
			v.attachments.push({ id: v.id, server_id: s.id, attachment_id: attachmentId, volume_id: v.id, device });
			v.status = "in-use";
			writeFileSync(path.join(s.dir, "devices", `virtio-${v.id.slice(0, 20)}`), v.dir);
		});
		return { status: 200, body: { volumeAttachment: { id: v.id, volumeId: v.id, serverId: s.id, device } } };
	}

	private detach(s: Server, volumeId: string) {
		const v = this.volumes.get(volumeId);
		if (!v?.attachments.some((a) => a.server_id === s.id))
			throw notFound(`Volume ${volumeId} is not attached to ${s.id}`);
		v.status = "detaching";
		rmSync(path.join(s.dir, "devices", `virtio-${v.id.slice(0, 20)}`), { force: true });
		this.later(Math.min(50, this.opts.buildMs), () => {
			v.attachments = v.attachments.filter((a) => a.server_id !== s.id);
			if (v.status === "detaching") v.status = v.attachments.length > 0 ? "in-use" : "available";
		});
		return { status: 202 };
	}

	// ---- Cinder ----

	private presentVolume(v: Volume) {
		return {
			id: v.id,
			name: v.name,
			size: v.size,
			status: v.status,
			metadata: v.metadata,
			created_at: v.created,
			attachments: v.attachments,
			bootable: "false",
			multiattach: false,
			volume_type: "__DEFAULT__",
		};
	}

	private cinder(
		method: string,
		p: string,
		q: URLSearchParams,
		body: unknown,
	): { status: number; body?: unknown } {
		const parts = p.split("/").filter(Boolean);
		if (parts[0] !== "volumes") throw notFound("The resource could not be found.");
		if (parts.length === 1 && method === "POST") {
			const problem = validate(CINDER_VOLUME_CREATE, body);
			if (problem) throw badRequest(`Invalid input for field/attribute volume. ${problem}`);
			const b = (body as { volume: { size: number; name?: string; metadata?: Record<string, string> } })
				.volume;
			const id = randomUUID();
			const dir = path.join(this.dir, "volumes", id);
			mkdirSync(dir, { recursive: true, mode: 0o777 });
			chmodSync(dir, 0o777);
			const v: Volume = {
				id,
				name: b.name ?? "",
				size: b.size,
				status: "creating",
				metadata: b.metadata ?? {},
				created: new Date().toISOString(),
				attachments: [],
				dir,
			};
			this.volumes.set(id, v);
			this.later(this.opts.buildMs, () => {
				if (v.status === "creating") v.status = "available";
			});
			return { status: 202, body: { volume: this.presentVolume(v) } };
		}
		if (parts.length === 2 && parts[1] === "detail" && method === "GET") {
			const name = q.get("name");
			const vols = [...this.volumes.values()].filter((v) => name === null || v.name === name);
			return { status: 200, body: { volumes: vols.map((v) => this.presentVolume(v)) } };
		}
		const v = parts[1] ? this.volumes.get(parts[1]) : undefined;
		if (!v) throw notFound(`Volume ${parts[1]} could not be found.`);
		if (parts.length === 2 && method === "GET")
			return { status: 200, body: { volume: this.presentVolume(v) } };
		if (parts.length === 3 && parts[2] === "action" && method === "POST") {
			const problem = validate(CINDER_VOLUME_ACTION, body);
			if (problem || Object.keys(body as object).length !== 1)
				throw badRequest(`Invalid input for field/attribute action. ${problem ?? "one action expected"}`);
			const id = (body as { "os-detach": { attachment_id?: string } })["os-detach"].attachment_id;
			v.attachments = v.attachments.filter((a) => id !== undefined && a.attachment_id !== id);
			if (v.attachments.length === 0) v.status = "available";
			return { status: 202 };
		}
		if (parts.length === 2 && method === "DELETE") {
			if (v.status !== "available" && v.status !== "error")
				throw badRequest(
					`Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots or be disassociated from snapshots after volume transfer.`,
				);
			this.volumes.delete(v.id);
			rmSync(v.dir, { recursive: true, force: true });
			return { status: 202 };
		}
		throw notFound("The resource could not be found.");
	}
}
