// What the worker routes decide about a job (variables, template secrets, masking, record ids,
// blob names, report uploads), checked without a broker or a store.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { JobDoc } from "../../schemas/run.ts";
import type { Definition } from "../../src/engine/ports.ts";
import {
	blobNameProblem,
	blobRefId,
	isReportUploadKind,
	jobAnswer,
	LOG_LIMITS,
	logEntryId,
	maskWhole,
	openTemplateSecrets,
	reportUploadContext,
	stepRecordId,
	variablesOfJob,
} from "../../src/engine/worker-job.ts";

const ARMORED = "-----BEGIN PGP MESSAGE-----\nabc\n-----END PGP MESSAGE-----";

const def = {
	model: {
		nodes: [
			{ name: "build", application: "app", environment: "prod", parameters: { mode: "fast" } },
			{ name: "bare", application: undefined, environment: undefined, parameters: {} },
		],
	},
	pipelines: [{ name: "pip", parameters: { mode: { default: "slow" }, level: { default: "1" } } }],
} as unknown as Definition;

const job = {
	_id: "P/w/0000000003/build/j0/a1",
	runId: "P/w/0000000003",
	project: "P",
	workflow: "w",
	runNumber: 3,
	node: "build",
	pipeline: "pip",
	stage: "Build",
	name: "compile",
	job: {
		steps: [
			{ action: { kind: "script", script: "make" } },
			{
				action: {
					kind: "builtin",
					name: "coverage",
					params: { path: "lcov.info", format: "lcov", minimum: 80 },
				},
			},
			{ action: { kind: "builtin", name: "junit", params: { path: "*.xml" } } },
		],
	},
} as unknown as JobDoc;

describe("variables of a job", () => {
	const clear = {
		project: { token: { type: "password", value: "s3cret" }, region: { type: "string", value: "eu" } },
		application: { repo: { type: "string", value: "git@x" } },
		environment: { key: { type: "password", value: "envkey" } },
	};

	test("node, application, environment and parameters; passwords are the secrets", () => {
		const { vars, secrets } = variablesOfJob(
			job,
			{ vars: { "git.branch": "main" }, build: { v: "1" } },
			def,
			clear,
			"https://cds",
		);
		assert.equal(vars["git.branch"], "main");
		assert.equal(vars["cds.proj.region"], "eu");
		assert.equal(vars["cds.application"], "app");
		assert.equal(vars["cds.app.repo"], "git@x");
		assert.equal(vars["cds.environment"], "prod");
		assert.equal(vars["cds.env.key"], "envkey");
		// Node parameters override the pipeline's defaults.
		assert.equal(vars["cds.pip.mode"], "fast");
		assert.equal(vars["cds.pip.level"], "1");
		assert.equal(vars["cds.build.v"], "1");
		assert.equal(vars["cds.job"], "compile");
		assert.equal(vars["cds.buildURL"], "https://cds/api/v1/projects/P/workflows/w/runs/3");
		assert.deepEqual(secrets.sort(), ["envkey", "s3cret"]);
	});

	test("a node without application or environment sees neither", () => {
		const { vars } = variablesOfJob(
			{ ...job, node: "bare" },
			{ vars: {}, build: {} },
			def,
			clear,
			"https://cds",
		);
		assert.equal(vars["cds.application"], undefined);
		assert.equal(vars["cds.app.repo"], undefined);
		assert.equal(vars["cds.env.key"], undefined);
		assert.equal(vars["cds.pip.mode"], "slow");
	});
});

describe("template secrets", () => {
	test("armored values are opened and become secrets; others are untouched", async () => {
		const opened: string[] = [];
		const out = await openTemplateSecrets(
			{ vars: { a: `  ${ARMORED}\n`, b: "plain" }, secrets: ["x"] },
			async (armored) => {
				opened.push(armored);
				return "clear-a";
			},
		);
		assert.deepEqual(opened, [ARMORED]);
		assert.deepEqual(out.vars, { a: "clear-a", b: "plain" });
		assert.deepEqual(out.secrets.sort(), ["clear-a", "x"]);
	});

	test("a message that cannot be opened stays as written; nothing armored, nothing asked", async () => {
		const input = { vars: { a: ARMORED }, secrets: [] };
		const out = await openTemplateSecrets(input, async () => {
			throw new Error("not our key");
		});
		assert.deepEqual(out.vars, { a: ARMORED });
		assert.deepEqual(out.secrets, []);
		let asked = false;
		const plain = { vars: { b: "x" }, secrets: ["s"] };
		assert.equal(
			await openTemplateSecrets(plain, async () => {
				asked = true;
				return "";
			}),
			plain,
		);
		assert.equal(asked, false);
	});

	test("an empty clear value is never a secret (it would mask everything)", async () => {
		const out = await openTemplateSecrets({ vars: { a: ARMORED }, secrets: [] }, async () => "");
		assert.deepEqual(out.secrets, []);
	});
});

describe("logs and records", () => {
	test("log ids sort by step (setup -1 first) then sequence", () => {
		const ids = [
			logEntryId("J", 0, 2),
			logEntryId("J", -1, 10),
			logEntryId("J", 0, 10),
			logEntryId("J", 10, 0),
		];
		assert.deepEqual([...ids].sort(), [ids[1], ids[0], ids[2], ids[3]]);
		assert.equal(logEntryId("J", -1, 0), "J/00000/0000000000");
		assert.equal(stepRecordId("J", 3), "J/00003");
	});

	test("secrets are masked out of a whole text; without secrets it is unchanged", () => {
		const masked = maskWhole("token=s3cret and s3cret", ["s3cret"]);
		assert.ok(!masked.includes("s3cret"), masked);
		assert.ok(masked.startsWith("token="));
		assert.equal(maskWhole("token=s3cret", []), "token=s3cret");
	});
});

describe("blob names", () => {
	test("plain tags and file names only", () => {
		assert.equal(blobNameProblem("v1.0_x-y", "report file+1.txt"), null);
		assert.equal(blobNameProblem("a/b", "f")?.field, "tag");
		assert.equal(blobNameProblem("", "f")?.field, "tag");
		assert.equal(blobNameProblem("t".repeat(129), "f")?.field, "tag");
		for (const bad of ["..", ".", "a/b", " lead", "", "x".repeat(256)])
			assert.equal(blobNameProblem("t", bad)?.field, "name", JSON.stringify(bad));
		assert.equal(blobNameProblem("t", "..")?.message, "invalid file name '..'");
		assert.equal(blobRefId("P", "t", "f.txt"), "P/t/f.txt");
	});
});

describe("report uploads", () => {
	test("the four report kinds only", () => {
		for (const k of ["tests", "coverage", "analysis", "security"]) assert.ok(isReportUploadKind(k));
		assert.equal(isReportUploadKind("logs"), false);
	});

	test("the step's parameters and format win over the query; the node's application is named", () => {
		assert.deepEqual(reportUploadContext(job, def, { step: "1", format: "cobertura" }), {
			format: "lcov",
			stepParams: { path: "lcov.info", format: "lcov", minimum: 80 },
			application: "app",
		});
	});

	test("without a format in the step the query's is used; script steps carry no parameters", () => {
		assert.deepEqual(reportUploadContext(job, def, { step: 2, format: "junit" }), {
			format: "junit",
			stepParams: { path: "*.xml" },
			application: "app",
		});
		assert.deepEqual(reportUploadContext(job, def, { step: "0" }), { application: "app" });
		assert.deepEqual(reportUploadContext({ ...job, node: "bare" }, def, { step: "x", format: 3 }), {});
	});
});

describe("the answer to a worker asking for its job", () => {
	test("variables, secrets, limits and no step timeout", () => {
		const out = jobAnswer({ ...job, attempt: 2, timeoutSeconds: 600 }, { a: "1" }, ["s"], 15);
		assert.equal(out.id, job._id);
		assert.equal(out.attempt, 2);
		assert.deepEqual(out.variables, { a: "1" });
		assert.deepEqual(out.secrets, ["s"]);
		assert.equal(out.timeoutSeconds, 600);
		assert.equal(out.stepTimeoutSeconds, null);
		assert.equal(out.heartbeatSeconds, 15);
		assert.deepEqual(out.logLimits, LOG_LIMITS);
		assert.equal(out.job, job.job);
	});
});
