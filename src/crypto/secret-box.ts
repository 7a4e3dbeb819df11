// Secrets at rest: AES-256-GCM with a fresh random 12-byte IV per value. The sealed form is
// self-describing, "enc:v1:<base64(iv | tag | ciphertext)>", so a stored value says whether it
// is sealed and with which scheme, and the GCM tag makes tampering or a wrong key detectable.

import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { KEY_BYTES } from "./key.ts";

const PREFIX = "enc:v1:";
const IV_BYTES = 12;
const TAG_BYTES = 16;

class SecretBoxError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "SecretBoxError";
	}
}

/** true when `value` looks like the output of SecretBox.seal. */
export function isSealed(value: string): boolean {
	return typeof value === "string" && value.startsWith(PREFIX);
}

export class SecretBox {
	readonly #key: Buffer;

	private constructor(key: Buffer) {
		this.#key = key;
	}

	static fromKey(key: Buffer): SecretBox {
		if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
			throw new SecretBoxError(
				`secret key must be ${KEY_BYTES} bytes, got ${Buffer.isBuffer(key) ? key.length : typeof key}`,
			);
		}
		return new SecretBox(Buffer.from(key));
	}

	seal(plain: string): string {
		if (typeof plain !== "string") throw new SecretBoxError(`can only seal strings, got ${typeof plain}`);
		const iv = randomBytes(IV_BYTES);
		const cipher = createCipheriv("aes-256-gcm", this.#key, iv);
		const ciphertext = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
		return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString("base64");
	}

	open(sealed: string): string {
		if (!isSealed(sealed))
			throw new SecretBoxError(`value is not a sealed secret (expected the ${PREFIX} prefix)`);
		const raw = Buffer.from(sealed.slice(PREFIX.length), "base64");
		if (raw.length < IV_BYTES + TAG_BYTES) throw new SecretBoxError("sealed secret is truncated");
		const decipher = createDecipheriv("aes-256-gcm", this.#key, raw.subarray(0, IV_BYTES));
		decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
		try {
			return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
				"utf8",
			);
		} catch {
			throw new SecretBoxError(
				"cannot open sealed secret: it was tampered with or sealed with another master key",
			);
		}
	}
}

export { generateKey, KEY_BYTES } from "./key.ts";
export { loadMasterKey } from "./master-key.ts";
