// Where the CLI keeps its credentials and how the environment overrides them.
// The file holds a bearer token, so it is written 0600 inside a 0700 directory.

import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";
import { CliFailure, UsageError, ValidationError } from "./errors.ts";

export interface CdsConfig {
	apiUrl: string;
	token: string;
}

type Env = Record<string, string | undefined>;

const NOT_LOGGED_IN = "not logged in: run cds login --api-url URL --token T";
export const DEFAULT_TIMEOUT_MS = 30_000;

/** $CDS_CONFIG, else $XDG_CONFIG_HOME/cds/config.json, else ~/.config/cds/config.json. */
export function configPath(env: Env): string {
	if (env.CDS_CONFIG) return env.CDS_CONFIG;
	const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
	return join(base, "cds", "config.json");
}

/** Checks an API URL is http(s) and returns it without trailing slashes or a trailing /api/v1. */
export function normalizeApiUrl(raw: string): string {
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		throw new UsageError(`invalid API URL "${raw}": expected http://host[:port] or https://host[:port]`);
	}
	if (url.protocol !== "http:" && url.protocol !== "https:") {
		throw new UsageError(`invalid API URL "${raw}": only http and https are supported`);
	}
	if (url.search || url.hash) throw new UsageError(`invalid API URL "${raw}": no query or fragment allowed`);
	return url
		.toString()
		.replace(/\/+$/, "")
		.replace(/\/api\/v1$/, "");
}

/** Reads the config file; undefined when it does not exist. */
export async function readConfigFile(path: string): Promise<Partial<CdsConfig> | undefined> {
	let text: string;
	try {
		text = await readFile(path, "utf8");
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
		throw new CliFailure(`cannot read config file ${path}: ${(err as Error).message}`);
	}
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch {
		throw new CliFailure(`config file ${path} is not valid JSON: run cds login again or fix it`);
	}
	if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
		throw new CliFailure(`config file ${path} must hold a JSON object`);
	}
	const { apiUrl, token } = parsed as Record<string, unknown>;
	return {
		apiUrl: typeof apiUrl === "string" ? apiUrl : undefined,
		token: typeof token === "string" ? token : undefined,
	};
}

/** The effective config: CDS_API_URL / CDS_TOKEN override the file's fields one by one. */
export async function resolveConfig(env: Env): Promise<CdsConfig> {
	const fromEnv = { apiUrl: env.CDS_API_URL || undefined, token: env.CDS_TOKEN || undefined };
	const fromFile = fromEnv.apiUrl && fromEnv.token ? undefined : await readConfigFile(configPath(env));
	const apiUrl = fromEnv.apiUrl ?? fromFile?.apiUrl;
	const token = fromEnv.token ?? fromFile?.token;
	if (!apiUrl || !token) throw new CliFailure(NOT_LOGGED_IN);
	try {
		return { apiUrl: normalizeApiUrl(apiUrl), token };
	} catch (err) {
		// A bad URL in the file or env is not a command-line mistake: report it as a failure.
		throw new CliFailure((err as Error).message);
	}
}

/**
 * Writes the config atomically (temp file + rename) with mode 0600. The directory is
 * created 0700; the default `cds` directory is also tightened if it already existed.
 */
export async function writeConfig(env: Env, config: CdsConfig): Promise<string> {
	const path = configPath(env);
	const dir = dirname(path);
	await mkdir(dir, { recursive: true, mode: 0o700 });
	if (!env.CDS_CONFIG) await chmod(dir, 0o700);
	const temp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
	await writeFile(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
	await chmod(temp, 0o600);
	await rename(temp, path);
	return path;
}

/** The request timeout: CDS_TIMEOUT in seconds (decimals allowed), 30 s by default. */
export function timeoutMs(env: Env): number {
	const raw = env.CDS_TIMEOUT;
	if (raw === undefined || raw === "") return DEFAULT_TIMEOUT_MS;
	const seconds = Number(raw);
	if (!Number.isFinite(seconds) || seconds <= 0) {
		throw new ValidationError(`invalid CDS_TIMEOUT "${raw}": expected a positive number of seconds`);
	}
	return Math.round(seconds * 1000);
}
