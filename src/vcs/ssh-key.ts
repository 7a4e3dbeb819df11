// A project's SSH key pair for cloning over ssh: ed25519 from node:crypto, the public part in
// OpenSSH's one-line format (what users paste as a deploy key), the private part in the
// "openssh-key-v1" format ssh reads — unencrypted here because it is sealed at rest.

import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";

export interface SshKeyPair {
	/** "ssh-ed25519 AAAA… comment" */
	publicKey: string;
	/** -----BEGIN OPENSSH PRIVATE KEY----- … */
	privateKey: string;
	/** "SHA256:…" as ssh-keygen -l prints it. */
	fingerprint: string;
}

function sshString(value: Buffer | string): Buffer {
	const data = typeof value === "string" ? Buffer.from(value, "utf8") : value;
	const len = Buffer.alloc(4);
	len.writeUInt32BE(data.length);
	return Buffer.concat([len, data]);
}

function uint32(n: number): Buffer {
	const b = Buffer.alloc(4);
	b.writeUInt32BE(n >>> 0);
	return b;
}

function publicKeyBlob(rawPublic: Buffer): Buffer {
	return Buffer.concat([sshString("ssh-ed25519"), sshString(rawPublic)]);
}

function fingerprintOf(blob: Buffer): string {
	return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

export function generateSshKeyPair(comment: string): SshKeyPair {
	const { publicKey, privateKey } = generateKeyPairSync("ed25519");
	const pubRaw = Buffer.from(publicKey.export({ format: "jwk" }).x as string, "base64url");
	const seed = Buffer.from(privateKey.export({ format: "jwk" }).d as string, "base64url");
	const blob = publicKeyBlob(pubRaw);
	const check = randomBytes(4);
	let secret = Buffer.concat([
		check,
		check,
		sshString("ssh-ed25519"),
		sshString(pubRaw),
		sshString(Buffer.concat([seed, pubRaw])),
		sshString(comment),
	]);
	// Padded to the cipher block size (8 for "none") with 1, 2, 3…
	const pad = (8 - (secret.length % 8)) % 8;
	secret = Buffer.concat([secret, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
	const body = Buffer.concat([
		Buffer.from("openssh-key-v1\0", "latin1"),
		sshString("none"),
		sshString("none"),
		sshString(""),
		uint32(1),
		sshString(blob),
		sshString(secret),
	]);
	const lines = body.toString("base64").match(/.{1,70}/g) ?? [];
	return {
		publicKey: `ssh-ed25519 ${blob.toString("base64")} ${comment}`,
		privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join("\n")}\n-----END OPENSSH PRIVATE KEY-----\n`,
		fingerprint: fingerprintOf(blob),
	};
}
