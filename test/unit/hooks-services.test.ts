// SERVICES and the hook parts: `hook` is the processor and every source; `hook-<source>` is one
// source with the processor, so each scales apart; unknown names are refused.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
	ALL_SERVICES,
	ConfigError,
	HOOK_SOURCE_SERVICES,
	hostedServices,
	loadConfig,
} from "../../config/index.ts";

const load = (SERVICES: string) => loadConfig({ SERVICES, CDS_DATA_DIR: "/tmp/cds-hooks-services" });

test("SERVICES=hook hosts the processor and every source", () => {
	const c = load("api,hook");
	assert.deepEqual(c.services, ["api", "hook"]);
	// Every source of HOOK_SOURCE_SERVICES (other sources add themselves to it).
	assert.deepEqual(hostedServices(c.services), ["api", "hook", ...HOOK_SOURCE_SERVICES]);
	for (const s of [
		"hook-webhook",
		"hook-poller",
		"hook-scheduler",
		"hook-healthcheck",
		"hook-snmp",
		"hook-marathon",
		"hook-kafka",
		"hook-rabbitmq",
		"hook-openstack",
	])
		assert.ok((HOOK_SOURCE_SERVICES as readonly string[]).includes(s), s);
});

test("SERVICES=hook-<source> hosts that source and the processor only", () => {
	assert.deepEqual(hostedServices(load("hook-poller").services), ["hook", "hook-poller"]);
	assert.deepEqual(hostedServices(load("api,hook-webhook,hook-scheduler").services), [
		"api",
		"hook",
		"hook-webhook",
		"hook-scheduler",
	]);
	assert.deepEqual(hostedServices(load("hook-webhook,hook").services), ["hook", ...HOOK_SOURCE_SERVICES]);
});

test("every service by default; all sources named one by one count as all", () => {
	const all = loadConfig({ CDS_DATA_DIR: "/tmp/cds-hooks-services" });
	assert.equal(all.runsAllServices, true);
	for (const s of HOOK_SOURCE_SERVICES) assert.ok(hostedServices(all.services).includes(s));
	const spelled = [...ALL_SERVICES.filter((s) => s !== "hook"), ...HOOK_SOURCE_SERVICES].join(",");
	assert.equal(load(spelled).runsAllServices, true);
	assert.equal(load(ALL_SERVICES.filter((s) => s !== "hook").join(",")).runsAllServices, false);
});

test("an unknown hook source is refused, naming the known ones", () => {
	assert.throws(
		() => load("hook-nosuch"),
		(e: Error) => {
			assert.ok(e instanceof ConfigError);
			assert.match(e.message, /unknown service 'hook-nosuch'/);
			assert.match(e.message, /hook-webhook, hook-poller, hook-scheduler/);
			return true;
		},
	);
});
