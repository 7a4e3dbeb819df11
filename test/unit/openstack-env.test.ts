// The `openstack` CLI environment of an Openstack integration, and its Keystone v3 address.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { keystoneV3Url, openstackEnvironment } from "../../src/integrations/openstack-env.ts";

describe("OpenStack deploy environment", () => {
	test("a v2.0 address is used as v3 at that host, with a warning naming the fix", () => {
		const r = keystoneV3Url("https://auth.cloud.ovh.net/v2.0/");
		assert.equal(r.url, "https://auth.cloud.ovh.net/v3");
		assert.match(r.warning ?? "", /Keystone v2\.0 URL.*set the integration's address to it/);
		assert.deepEqual(keystoneV3Url("https://keystone.example:5000/identity/v2"), {
			url: "https://keystone.example:5000/identity/v3",
			warning: keystoneV3Url("https://keystone.example:5000/identity/v2").warning,
		});
		assert.deepEqual(keystoneV3Url("https://auth.cloud.ovh.net/v3/"), {
			url: "https://auth.cloud.ovh.net/v3/",
		});
		assert.deepEqual(keystoneV3Url("http://127.0.0.1:5000"), { url: "http://127.0.0.1:5000/v3" });
		assert.deepEqual(keystoneV3Url("not a url"), { url: "not a url" });
	});

	test("the OS_* variables of the model's settings; domains default to Default", () => {
		const s = (value: string) => ({ type: "string" as const, value });
		const { env, warning } = openstackEnvironment({
			address: s("https://id.example/v3"),
			username: s("u"),
			password: { type: "password", value: "p" },
			tenant_name: s("t"),
			region: s("R1"),
			domain: s(""),
		});
		assert.equal(warning, undefined);
		assert.deepEqual(env, {
			OS_AUTH_URL: "https://id.example/v3",
			OS_IDENTITY_API_VERSION: "3",
			OS_AUTH_TYPE: "password",
			OS_USERNAME: "u",
			OS_PASSWORD: "p",
			OS_PROJECT_NAME: "t",
			OS_USER_DOMAIN_NAME: "Default",
			OS_PROJECT_DOMAIN_NAME: "Default",
			OS_REGION_NAME: "R1",
			OS_INTERFACE: "public",
		});
		assert.equal(openstackEnvironment({ domain: s("ovh") }).env.OS_USER_DOMAIN_NAME, "ovh");
	});
});

describe("an Openstack integration file with a v2.0 address", () => {
	test("imports, with a warning where the address is written", async () => {
		const { parseFileSet } = await import("../../src/workflow/file-set.ts");
		const content =
			"name: t\nmodel:\n  name: Openstack\nconfig:\n  address:\n    value: https://auth.cloud.ovh.net/v2.0/\n    type: string\n";
		const r = parseFileSet([{ path: "t.integration.yml", content }]);
		assert.deepEqual(r.errors, []);
		const w = r.warnings.find((d) => d.message.includes("Keystone v2.0"));
		assert.ok(w, JSON.stringify(r.warnings));
		assert.deepEqual([w.line, w.column], [6, 12]);
		assert.match(w.message, /https:\/\/auth\.cloud\.ovh\.net\/v3/);
	});
});
