import assert from "node:assert/strict";
import { test } from "node:test";
import { readHatcherySettings } from "../../config/hatchery.ts";
import { readMesosSettings } from "../../config/mesos.ts";
import { ConfigError } from "../../config/settings.ts";
import { createMesosDriver } from "../../src/hatchery/drivers/mesos.ts";

test("the Mesos knobs are read and typed", () => {
	const s = readMesosSettings({
		CDS_MESOS_MASTERS: "http://m1:5050/, https://m2:5050",
		CDS_MESOS_PRINCIPAL: "cds",
		CDS_MESOS_SECRET: "x",
		CDS_MESOS_CPUS: "0.25",
		CDS_MESOS_MEM_MB: "512",
		CDS_MESOS_ATTRIBUTES: "os=linux,rack=r1",
		CDS_MESOS_FAILOVER_TIMEOUT_SECONDS: "1h",
		CDS_MESOS_ASSIGNMENT_LISTEN: "0.0.0.0:8099",
		MONGO_URL: "mongodb://db:27017/cds",
	});
	assert.deepEqual(s.masters, ["http://m1:5050", "https://m2:5050"]);
	assert.equal(s.cpus, 0.25);
	assert.equal(s.memMb, 512);
	assert.deepEqual(s.attributes, { os: "linux", rack: "r1" });
	assert.equal(s.failoverTimeoutSeconds, 3600);
	assert.deepEqual(s.assignmentListen, { host: "0.0.0.0", port: 8099 });
	assert.equal(s.storeUrl, "mongodb://db:27017/cds");
	assert.equal(readMesosSettings({}).role, "*");
});

test("bad Mesos values are ConfigErrors", () => {
	for (const env of [
		{ CDS_MESOS_MASTERS: "m1:5050" },
		{ CDS_MESOS_CPUS: "one" },
		{ CDS_MESOS_MEM_MB: "-5" },
		{ CDS_MESOS_ATTRIBUTES: "os" },
		{ CDS_MESOS_FAILOVER_TIMEOUT_SECONDS: "0" },
		{ CDS_MESOS_ASSIGNMENT_LISTEN: "8099" },
		{ CDS_MESOS_ASSIGNMENT_LISTEN: "h:70000" },
		{ CDS_MESOS_SECRET: "x" },
		{ CDS_MESOS_START_TIMEOUT_MS: "soon" },
	])
		assert.throws(() => readMesosSettings(env), ConfigError, JSON.stringify(env));
});

test("the mesos driver without masters is a ConfigError", async () => {
	const settings = readHatcherySettings(
		{ CDS_HATCHERY_DRIVER: "mesos", CDS_HATCHERY_SANDBOX: "none" },
		"/tmp/cds-mesos-config",
	);
	assert.equal(settings.driver, "mesos");
	await assert.rejects(
		createMesosDriver(settings),
		(e) => e instanceof ConfigError && /CDS_MESOS_MASTERS/.test(e.message),
	);
});
