// The shape of a master key: 256 random bits (AES-256).

import { randomBytes } from "node:crypto";

export const KEY_BYTES = 32;

/** A new random 256-bit key. */
export function generateKey(): Buffer {
	return randomBytes(KEY_BYTES);
}
