// The OpenStack stand-in keeps to the API references it follows: bodies refused with the API's
// own error shape, microversions honoured, status transitions — so a client that misreads the
// API fails here rather than passing against a lenient stand-in. And a node configured for the
// Nova driver without its cloud exits 2 naming what is missing.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { freePort } from "../helpers/server.ts";
import type { OpenStackStandin } from "../standins/openstack/cloud.ts";
import { startStandin, until } from "./nova-helpers.ts";

describe("OpenStack stand-in", () => {
	let cloud: OpenStackStandin;
	let work: string;
	let token: string;
	let nova: string;
	let cinder: string;

	const call = async (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) => {
		const r = await fetch(url, {
			method,
			headers: { "X-Auth-Token": token, "Content-Type": "application/json", ...headers },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await r.text();
		return { status: r.status, body: text ? JSON.parse(text) : undefined };
	};
	const v = (version: string) => ({ "X-OpenStack-Nova-API-Version": version });

	before(async () => {
		work = mkdtempSync(path.join(tmpdir(), "openstack-standin-test-"));
		cloud = await startStandin({ dir: path.join(work, "cloud"), buildMs: 50 });
		const r = await fetch(`${cloud.url}/identity/v3/auth/tokens`, {
			method: "POST",
			headers: { "Content-Type": "application/json" },
			body: JSON.stringify({
				auth: {
					identity: {
						methods: ["password"],
						password: { user: { name: "cds", domain: { name: "Default" }, password: "s3cret-standin" } },
					},
					scope: { project: { name: "cds-ci", domain: { name: "Default" } } },
				},
			}),
		});
		assert.equal(r.status, 201);
		token = r.headers.get("x-subject-token")!;
		const catalog = ((await r.json()) as { token: { catalog: unknown } }).token.catalog as Array<{
			type: string;
			endpoints: Array<{ url: string }>;
		}>;
		nova = catalog.find((c) => c.type === "compute")!.endpoints[0]!.url;
		cinder = catalog.find((c) => c.type === "volumev3")!.endpoints[0]!.url;
	});
	after(async () => {
		await cloud.stop();
		rmSync(work, { recursive: true, force: true });
	});

	test("Keystone refuses a wrong password (401) and an unknown field (400)", async () => {
		const auth = (password: string, extra = {}) =>
			fetch(`${cloud.url}/identity/v3/auth/tokens`, {
				method: "POST",
				headers: { "Content-Type": "application/json" },
				body: JSON.stringify({
					auth: {
						identity: {
							methods: ["password"],
							password: { user: { name: "cds", domain: { name: "Default" }, password } },
						},
						scope: { project: { name: "cds-ci", domain: { name: "Default" } } },
						...extra,
					},
				}),
			});
		assert.equal((await auth("wrong")).status, 401);
		assert.equal((await auth("s3cret-standin", { tenantName: "x" })).status, 400);
		assert.equal(
			(await call("GET", `${nova}/flavors/detail`, undefined, { "X-Auth-Token": "nope" })).status,
			401,
		);
	});

	test("Nova refuses unknown fields, fields newer than the microversion, and unsupported microversions", async () => {
		const images = await call("GET", `${nova}/images/detail`, undefined, v("2.1"));
		const imageRef = images.body.images.find((i: { name: string }) => i.name === "cds-worker").id;
		const server = { name: "s1", flavorRef: "1", imageRef, networks: "none" };
		const unknown = await call(
			"POST",
			`${nova}/servers`,
			{ server: { ...server, colour: "red" } },
			v("2.52"),
		);
		assert.equal(unknown.status, 400);
		assert.match(
			unknown.body.badRequest.message,
			/Additional properties are not allowed \('colour' was unexpected\)/,
		);
		const early = await call("POST", `${nova}/servers`, { server: { ...server, tags: ["a"] } }, v("2.1"));
		assert.equal(early.status, 400);
		assert.match(early.body.badRequest.message, /'tags' was unexpected/);
		assert.equal((await call("GET", `${nova}/flavors/detail`, undefined, v("3.0"))).status, 406);
		assert.equal(
			(await call("GET", `${nova}/images/detail`, undefined, v("2.52"))).status,
			404,
			"no image proxy from 2.36",
		);
		const noNetworks = await call(
			"POST",
			`${nova}/servers`,
			{ server: { name: "s", flavorRef: "1", imageRef } },
			v("2.52"),
		);
		assert.match(noNetworks.body.badRequest.message, /'networks' is a required property/);
	});

	test("servers go BUILD → ACTIVE → SHUTOFF (its script ended); DELETE removes them; a broken image goes ERROR with a fault", async () => {
		const images = (await call("GET", `${nova}/images/detail`, undefined, v("2.1"))).body.images;
		const id = (name: string) => images.find((i: { name: string }) => i.name === name).id;
		const userData = Buffer.from("#!/bin/sh\nsleep 0.3\n").toString("base64");
		const created = await call(
			"POST",
			`${nova}/servers`,
			{
				server: {
					name: "ok",
					flavorRef: "2",
					imageRef: id("cds-worker"),
					networks: "auto",
					user_data: userData,
					tags: ["t1"],
				},
			},
			v("2.52"),
		);
		assert.equal(created.status, 202);
		const sid = created.body.server.id;
		const status = async () =>
			(await call("GET", `${nova}/servers/${sid}`, undefined, v("2.52"))).body.server;
		assert.equal((await status()).status, "BUILD");
		await until("ACTIVE", async () => (await status()).status === "ACTIVE");
		await until("SHUTOFF", async () => (await status()).status === "SHUTOFF");
		const listed = await call("GET", `${nova}/servers/detail?tags=t1`, undefined, v("2.52"));
		assert.deepEqual(
			listed.body.servers.map((s: { id: string }) => s.id),
			[sid],
		);
		assert.equal((await call("DELETE", `${nova}/servers/${sid}`, undefined, v("2.52"))).status, 204);
		assert.equal((await call("GET", `${nova}/servers/${sid}`, undefined, v("2.52"))).status, 404);
		const broken = await call(
			"POST",
			`${nova}/servers`,
			{ server: { name: "bad", flavorRef: "1", imageRef: id("broken-image"), networks: "none" } },
			v("2.52"),
		);
		const bid = broken.body.server.id;
		const fault = await until("ERROR", async () => {
			const s = (await call("GET", `${nova}/servers/${bid}`, undefined, v("2.52"))).body.server;
			return s.status === "ERROR" ? s.fault : undefined;
		});
		assert.match(fault.message, /Build of instance .* aborted/);
		cloud.quota = { instances: 1, code: 403 };
		const refused = await call(
			"POST",
			`${nova}/servers`,
			{ server: { name: "q", flavorRef: "1", imageRef: id("cds-worker"), networks: "none" } },
			v("2.52"),
		);
		cloud.quota = undefined;
		assert.equal(refused.status, 403);
		assert.match(refused.body.forbidden.message, /Quota exceeded for instances/);
	});

	test("Cinder volumes: creating → available → in-use → available; an in-use volume cannot be deleted", async () => {
		const bad = await call("POST", `${cinder}/volumes`, { volume: { size: 0 } });
		assert.equal(bad.status, 400);
		assert.ok(bad.body.badRequest);
		const vol = (await call("POST", `${cinder}/volumes`, { volume: { size: 1, name: "w" } })).body.volume;
		assert.equal(vol.status, "creating");
		const status = async () => (await call("GET", `${cinder}/volumes/${vol.id}`)).body.volume.status;
		await until("available", async () => (await status()) === "available");
		const images = (await call("GET", `${nova}/images/detail`, undefined, v("2.1"))).body.images;
		const sid = (
			await call(
				"POST",
				`${nova}/servers`,
				{ server: { name: "host", flavorRef: "1", imageRef: images[0].id, networks: "none" } },
				v("2.52"),
			)
		).body.server.id;
		const attach = () =>
			call(
				"POST",
				`${nova}/servers/${sid}/os-volume_attachments`,
				{ volumeAttachment: { volumeId: vol.id } },
				v("2.52"),
			);
		assert.equal((await attach()).status, 409, "not while BUILD");
		await until(
			"ACTIVE",
			async () =>
				(await call("GET", `${nova}/servers/${sid}`, undefined, v("2.52"))).body.server.status === "ACTIVE",
		);
		assert.equal((await attach()).status, 200);
		await until("in-use", async () => (await status()) === "in-use");
		assert.equal((await call("DELETE", `${cinder}/volumes/${vol.id}`)).status, 400);
		assert.equal(
			(await call("DELETE", `${nova}/servers/${sid}/os-volume_attachments/${vol.id}`, undefined, v("2.52")))
				.status,
			202,
		);
		await until("available", async () => (await status()) === "available");
		assert.equal((await call("DELETE", `${cinder}/volumes/${vol.id}`)).status, 202);
		assert.equal((await call("GET", `${cinder}/volumes/${vol.id}`)).status, 404);
	});
});

test("a node with CDS_HATCHERY_DRIVER=openstack and no cloud exits 2 naming what is missing", async () => {
	const dir = mkdtempSync(path.join(tmpdir(), "nova-noconfig-"));
	try {
		const r = spawnSync(process.execPath, [path.resolve(import.meta.dirname, "../../server.ts")], {
			cwd: dir,
			env: {
				PATH: process.env.PATH,
				HOME: dir,
				CDS_DATA_DIR: dir,
				CDS_API_PORT: String(await freePort()),
				CDS_API_HOST: "127.0.0.1",
				LOG_LEVEL: "error",
				CDS_HATCHERY_DRIVER: "openstack",
				CDS_OPENSTACK_USERNAME: "cds",
			},
			encoding: "utf8",
			timeout: 90_000,
		});
		assert.equal(r.status, 2, r.stderr);
		assert.match(
			r.stderr,
			/cds-ts: CDS_HATCHERY_DRIVER=openstack needs a cloud: set CDS_OPENSTACK_AUTH_URL, CDS_OPENSTACK_PASSWORD \(or CDS_OPENSTACK_PASSWORD_FILE\), CDS_OPENSTACK_PROJECT/,
		);
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
});
