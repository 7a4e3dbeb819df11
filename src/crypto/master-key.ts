// The master key that seals secrets at rest. CDS_SECRET_KEY (base64) wins, so several nodes can
// share one key; otherwise a single node keeps it in <dataDir>/master.key, created on first use
// with mode 0600 in a directory of mode 0700. Losing the key makes every sealed secret
// unreadable, hence the loud errors. A key or data directory that other users can read is
// tightened at start, with a warning: the key beside the store decrypts every secret in it.

import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
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

type Warn = (message: string) => void;

/** Makes `path` accessible to its owner only (`mode`), warning when it was not; never throws. */
async function tighten(path: string, mode: number, warn: Warn): Promise<void> {
	try {
		const current = (await stat(path)).mode & 0o777;
		if ((current & ~mode) === 0) return;
		await chmod(path, mode);
		warn(
			`${path} had mode ${current.toString(8).padStart(4, "0")}: changed to ${mode.toString(8).padStart(4, "0")} (other users could read it)`,
		);
	} catch (e) {
		warn(
			`${path}: cannot check or change its mode (${(e as Error).message}); make it readable by this user only`,
		);
	}
}

/**
 * The node's data directory (store, master key, workspaces): created with mode 0700, and an
 * existing one that others can enter is changed to 0700 with a warning.
 */
export async function ensurePrivateDataDir(dataDir: string, warn: Warn = () => {}): Promise<void> {
	try {
		await mkdir(dataDir, { recursive: true, mode: 0o700 });
	} catch {
		return; // a node on MongoDB may never write there; what needs it reports the error
	}
	await tighten(dataDir, 0o700, warn);
}

export async function loadMasterKey(options: {
	env?: string;
	dataDir?: string;
	warn?: Warn;
}): Promise<Buffer> {
	if (options.env !== undefined && options.env.trim() !== "") return decodeKey(options.env, "CDS_SECRET_KEY");
	if (!options.dataDir)
		throw new Error("no master key: set CDS_SECRET_KEY or give a data directory to keep master.key in");
	const file = join(options.dataDir, "master.key");
	try {
		const key = decodeKey(await readFile(file, "utf8"), file);
		await tighten(file, 0o600, options.warn ?? (() => {}));
		return key;
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
