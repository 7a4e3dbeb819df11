// The master key that seals secrets at rest. CDS_SECRET_KEY (base64) wins, so several nodes can
// share one key; otherwise a single node keeps it in <dataDir>/master.key, created on first use
// with mode 0600. Losing the key makes every sealed secret unreadable, hence the loud errors.

import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generateKey, KEY_BYTES } from "./key.ts";

function decodeKey(base64: string, origin: string): Buffer {
	const text = base64.trim();
	const key = Buffer.from(text, "base64");
	if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || key.length !== KEY_BYTES) {
		throw new Error(
			`${origin} must be ${KEY_BYTES} random bytes in base64 (e.g. \`openssl rand -base64 32\`), got ${key.length} bytes`,
		);
	}
	return key;
}

export async function loadMasterKey(options: { env?: string; dataDir?: string }): Promise<Buffer> {
	if (options.env !== undefined && options.env.trim() !== "") return decodeKey(options.env, "CDS_SECRET_KEY");
	if (!options.dataDir)
		throw new Error("no master key: set CDS_SECRET_KEY or give a data directory to keep master.key in");
	const file = join(options.dataDir, "master.key");
	try {
		return decodeKey(await readFile(file, "utf8"), file);
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
	}
	await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
	const key = generateKey();
	try {
		await writeFile(file, `${key.toString("base64")}\n`, { mode: 0o600, flag: "wx" });
	} catch (err) {
		// another process created it first: use theirs, so both seal with the same key
		if ((err as NodeJS.ErrnoException).code === "EEXIST")
			return decodeKey(await readFile(file, "utf8"), file);
		throw err;
	}
	await chmod(file, 0o600); // writeFile's mode is filtered by the umask
	return key;
}
