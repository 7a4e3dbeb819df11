// The client side of `cds new`: asking for parameters, encrypting secrets, writing files.

import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { collectParameters, writeRenderedFiles } from "../../src/cli/commands/new.ts";
import { ValidationError } from "../../src/cli/errors.ts";
import { decryptWithPrivateKey, encryptWithPublicKey, generatePgpKeyPair } from "../../src/crypto/pgp.ts";
import type { TemplateParameter } from "../../src/templates/parameters.ts";

const PARAMS: TemplateParameter[] = [
	{ key: "withDeploy", type: "boolean", required: true },
	{ key: "when", type: "string", required: false },
	{ key: "token", type: "secret", required: true },
];

describe("cds new parameters", () => {
	test("without a terminal every missing required parameter is listed at once", async () => {
		await assert.rejects(collectParameters(PARAMS, {}, undefined), (e: unknown) => {
			assert.ok(e instanceof ValidationError);
			assert.match(e.message, /withDeploy, token/);
			assert.equal(e.details.length, 2);
			return true;
		});
		await assert.rejects(
			collectParameters(PARAMS, { withDeploy: "perhaps", token: "t" }, undefined),
			/invalid parameter/,
		);
		await assert.rejects(collectParameters(PARAMS, { nope: "1" }, undefined), /unknown parameter nope/);
	});

	test("on a terminal it asks, hides secrets, re-asks invalid answers and skips optional ones", async () => {
		const questions: Array<[string, boolean]> = [];
		const answers = ["maybe", "yes", "", "", "s3cret"];
		const values = await collectParameters(PARAMS, {}, async (q, secret) => {
			questions.push([q, secret]);
			return answers.shift()!;
		});
		assert.deepEqual(values, { withDeploy: "yes", token: "s3cret" });
		assert.match(questions[1]![0], /^withDeploy must be true or false\. withDeploy/);
		assert.deepEqual(
			questions.map(([, secret]) => secret),
			[false, false, false, true, true],
		);
		assert.match(questions[3]![0], /^token \(secret, required\)/);
		assert.match(questions[4]![0], /^token is required\. token/);
	});
});

describe("project OpenPGP keys", () => {
	test("a message encrypted with the public key opens only with its private key", async () => {
		const a = await generatePgpKeyPair("AAA");
		const b = await generatePgpKeyPair("BBB");
		assert.notEqual(a.fingerprint, b.fingerprint);
		const armored = await encryptWithPublicKey(a.publicKey, "clear value");
		assert.match(armored, /^-----BEGIN PGP MESSAGE-----/);
		assert.ok(!armored.includes("clear value"));
		assert.equal(await decryptWithPrivateKey(a.privateKey, armored), "clear value");
		await assert.rejects(decryptWithPrivateKey(b.privateKey, armored), /cannot decrypt/);
		await assert.rejects(encryptWithPublicKey("not a key", "x"), /not an armored OpenPGP public key/);
	});
});

describe("writing rendered files", () => {
	test("existing files are not overwritten without force, and nothing is written then", async () => {
		const dir = await mkdtemp(join(tmpdir(), "cds-new-write-"));
		try {
			await writeFile(join(dir, "b.yml"), "mine\n");
			const files = [
				{ path: "a.yml", kind: "workflow", content: "name: a\n" },
				{ path: "b.yml", kind: "pipeline", content: "name: b\n" },
			];
			await assert.rejects(writeRenderedFiles(dir, files, false), /already exist/);
			await assert.rejects(readFile(join(dir, "a.yml")), { code: "ENOENT" });
			await writeRenderedFiles(dir, files, true);
			assert.equal(await readFile(join(dir, "b.yml"), "utf8"), "name: b\n");
			await assert.rejects(
				writeRenderedFiles(dir, [{ path: "../x.yml", kind: "workflow", content: "" }], true),
				/unusable file name/,
			);
		} finally {
			await rm(dir, { recursive: true, force: true });
		}
	});
});
