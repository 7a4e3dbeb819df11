// The project SSH key: OpenSSH's own tools must accept both halves.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { generateSshKeyPair } from "../../src/vcs/ssh-key.ts";

test("an ed25519 pair in OpenSSH formats: ssh-keygen derives the same public key and fingerprint", () => {
	const pair = generateSshKeyPair("cds-DEMO");
	assert.match(pair.publicKey, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} cds-DEMO$/);
	assert.match(
		pair.privateKey,
		/^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+\n-----END OPENSSH PRIVATE KEY-----\n$/,
	);
	const dir = mkdtempSync(path.join(tmpdir(), "vcs-ssh-"));
	try {
		const file = path.join(dir, "id");
		writeFileSync(file, pair.privateKey, { mode: 0o600 });
		const derived = execFileSync("ssh-keygen", ["-y", "-f", file], { encoding: "utf8" }).trim();
		assert.equal(derived.split(" ").slice(0, 2).join(" "), pair.publicKey.split(" ").slice(0, 2).join(" "));
		writeFileSync(`${file}.pub`, `${pair.publicKey}\n`);
		const printed = execFileSync("ssh-keygen", ["-l", "-f", `${file}.pub`], { encoding: "utf8" });
		assert.ok(printed.includes(pair.fingerprint), printed);
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
	assert.notEqual(generateSshKeyPair("x").publicKey.split(" ")[1], pair.publicKey.split(" ")[1]);
});
