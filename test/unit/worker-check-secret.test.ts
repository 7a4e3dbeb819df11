// `worker check-secret FILE` refuses a file holding a secret in any form the log masker knows.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type CommandContext, runCommand } from "../../src/worker/commands.ts";

test("check-secret finds a secret as written, base64-wrapped and folded", async () => {
	const dir = await mkdtemp(join(tmpdir(), "cds-check-secret-"));
	try {
		const secret = "s3cret-Value-991";
		const ctx = { secrets: [secret] } as unknown as CommandContext;
		const files: Record<string, string> = {
			"clean.txt": "nothing to see\n",
			"plain.txt": `key=${secret}\n`,
			"b64.txt": `${Buffer.from(`u:${secret}`).toString("base64").replace(/.{10}/g, "$&\n")}\n`,
			"folded.txt": `${secret.replace(/.{3}/g, "$&\n")}\n`,
		};
		for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
		const check = (name: string) => runCommand(["check-secret", name], dir, ctx, () => {});
		assert.equal(await check("clean.txt"), 0);
		for (const name of ["plain.txt", "b64.txt", "folded.txt"]) assert.equal(await check(name), 1, name);
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
});
