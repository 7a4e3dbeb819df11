// The shared Keystone v3 client against the stand-in's token endpoint: a token is reused while
// fresh and renewed before it expires (half its life for short-lived tokens); the catalog gives
// the endpoint by type, interface and region; a wrong password is Keystone's 401 message.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Keystone, OpenStackError } from "../../src/openstack/keystone.ts";
import type { OpenStackStandin } from "../standins/openstack/cloud.ts";
import { startStandin } from "./nova-helpers.ts";

describe("Keystone v3 client", () => {
	let cloud: OpenStackStandin;
	before(async () => {
		cloud = await startStandin({ tokenTtlMs: 1000 });
	});
	after(async () => cloud.stop());

	const client = (over: Partial<ConstructorParameters<typeof Keystone>[0]> = {}) =>
		new Keystone({
			authUrl: `${cloud.url}/identity`,
			username: "cds",
			password: "s3cret-standin",
			project: "cds-ci",
			domain: "Default",
			region: "RegionOne",
			interface: "public",
			...over,
		});

	test("a token is reused while fresh and renewed past half its life", async () => {
		const k = client();
		const first = await k.current();
		assert.equal((await k.current()).value, first.value);
		await new Promise((r) => setTimeout(r, 600));
		const second = await k.current();
		assert.notEqual(second.value, first.value);
		k.invalidate();
		assert.notEqual((await k.current()).value, second.value);
	});

	test("the endpoints of the catalog, by type, interface and region", async () => {
		const k = client({ interface: "internal" });
		assert.equal(await k.endpoint("compute"), `${cloud.url}/compute/v2.1`);
		assert.match(await k.endpoint("volumev3"), new RegExp(`/volume/v3/${cloud.projectId}$`));
		await assert.rejects(
			client({ region: "Elsewhere" }).endpoint("compute"),
			/no public compute endpoint in region Elsewhere/,
		);
		await assert.rejects(k.endpoint("object-store"), /no internal object-store endpoint/);
	});

	test("a wrong password is a 401 with Keystone's message", async () => {
		const e = await client({ password: "nope" })
			.current()
			.catch((x) => x);
		assert.ok(e instanceof OpenStackError);
		assert.equal(e.status, 401);
		assert.match(e.message, /requires authentication/);
	});
});
