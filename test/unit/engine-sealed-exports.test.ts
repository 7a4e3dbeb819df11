// Exported values that hold a secret: sealed when stored (in any form the masker knows),
// opened for later jobs and counted among their secrets, never opened when merely looking
// sealed; and the engine's record of which exported names are sealed.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { JobDoc } from "../../schemas/run.ts";
import { generateKey, isSealed, SecretBox } from "../../src/crypto/secret-box.ts";
import type { Definition } from "../../src/engine/ports.ts";
import { createRun } from "../../src/engine/run-commands.ts";
import { maskWhole, openBuild, sealExports, variablesOfJob } from "../../src/engine/worker-job.ts";
import { MASK } from "../../src/run/mask.ts";
import { engineFixture, simpleWorkflow } from "../helpers/engine-fixture.ts";

const box = SecretBox.fromKey(generateKey());
const seal = (plain: string) => box.seal(plain);
const open = (sealed: string) => box.open(sealed);
const secret = "db-p4ssw0rd-7731";

describe("sealExports", () => {
	test("a value holding a secret in any recognised form is sealed, the others are kept", () => {
		const values = {
			plain: secret,
			inside: `postgres://app:${secret}@db:5432/app`,
			basic: Buffer.from(`app:${secret}`).toString("base64"),
			hex: Buffer.from(secret).toString("hex"),
			urlenc: encodeURIComponent(`?pw=${secret}`),
			reversed: [...secret].reverse().join(""),
			version: "1.2.3",
			url: "https://example.org/artifact",
		};
		const { values: stored, sealed } = sealExports(values, [secret], seal);
		assert.deepEqual(sealed.sort(), ["basic", "hex", "inside", "plain", "reversed", "urlenc"]);
		for (const name of sealed) {
			assert.ok(isSealed(stored[name]!), name);
			assert.ok(!stored[name]!.includes(secret));
			assert.equal(open(stored[name]!), values[name as keyof typeof values]);
		}
		assert.equal(stored.version, "1.2.3");
		assert.equal(stored.url, "https://example.org/artifact");
	});

	test("no secret, nothing sealed", () => {
		assert.deepEqual(sealExports({ a: secret }, [], seal), { values: { a: secret }, sealed: [] });
	});
});

describe("openBuild and the variables of a later job", () => {
	const def = {
		model: { nodes: [{ name: "deploy", parameters: {} }] },
		pipelines: [{ name: "pip", parameters: {} }],
	} as unknown as Definition;
	const job = {
		_id: "P/w/0000000001/deploy/j0/a1",
		node: "deploy",
		pipeline: "pip",
		stage: "s",
		name: "j",
		project: "P",
		workflow: "w",
		runNumber: 1,
	} as unknown as JobDoc;
	const clear = { project: {}, application: {}, environment: {} };

	test("a later job gets the clear value, and as a secret to mask", () => {
		const dsn = `postgres://app:${secret}@db/app`;
		const run = { vars: {}, build: { dsn: seal(dsn), version: "7" }, sealedBuild: ["dsn"] };
		const { vars, secrets } = variablesOfJob(job, run, def, clear, "http://cds", open);
		assert.equal(vars["cds.build.dsn"], dsn);
		assert.equal(vars["cds.build.version"], "7");
		assert.deepEqual(secrets, [dsn]);
		assert.equal(maskWhole(`connecting to ${dsn}\n`, secrets), `connecting to ${MASK}\n`);
	});

	test("a clear export that only looks sealed is never opened", () => {
		const lookalike = seal("another project's password");
		const { build, secrets } = openBuild({ build: { x: lookalike }, sealedBuild: [] }, open);
		assert.equal(build.x, lookalike);
		assert.deepEqual(secrets, []);
	});

	test("a value sealed under another key stays sealed", () => {
		const other = SecretBox.fromKey(generateKey()).seal("x-value-1234");
		const { build, secrets } = openBuild({ build: { x: other }, sealedBuild: ["x"] }, open);
		assert.equal(build.x, other);
		assert.deepEqual(secrets, []);
	});
});

describe("RunEngine.addBuildVariables", () => {
	test("records which names are sealed; a name exported again in clear is no longer sealed", async () => {
		const f = await engineFixture();
		try {
			f.define("P", simpleWorkflow("W"));
			const run = await createRun(f.engine, { project: "P", workflow: "W", triggeredBy: "t" });
			await f.engine.addBuildVariables(run._id, { a: seal("x-secret-1"), b: "clear" }, ["a"]);
			let stored = await f.repo.runs.findOne({ _id: run._id });
			assert.deepEqual(stored?.sealedBuild, ["a"]);
			assert.ok(isSealed(stored!.build.a!));
			await f.engine.addBuildVariables(run._id, { c: seal("y-secret-2") }, ["c"]);
			await f.engine.addBuildVariables(run._id, { a: "now clear" });
			stored = await f.repo.runs.findOne({ _id: run._id });
			assert.deepEqual(stored?.sealedBuild, ["c"]);
			assert.deepEqual(stored?.build.a, "now clear");
			assert.equal(stored?.build.b, "clear");
		} finally {
			await f.close();
		}
	});
});
