// Declarations of configuration knobs: each knob is one variable with a kind, a default and a
// line of documentation. A bad value is a ConfigError naming the variable, the value and what
// is expected — never a silent default. Areas (config/<area>.ts) declare their knobs with these
// helpers; the README's tables are checked against the declarations (test/unit/config-docs).

import { readFileSync } from "node:fs";

export class ConfigError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "ConfigError";
	}
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface Setting<T> {
	/** The environment variable. */
	readonly name: string;
	/** The default as the README shows it. */
	readonly defaultText: string;
	readonly doc: string;
	read(env: Env): T;
}

/** Every declared knob, by variable name: what the README tables are checked against. */
export const DECLARED = new Map<string, Setting<unknown>>();

function declare<T>(s: Setting<T>): Setting<T> {
	DECLARED.set(s.name, s as Setting<unknown>);
	return s;
}

const bad = (name: string, value: string, expected: string) =>
	new ConfigError(`${name}=${value} is invalid: expected ${expected}`);

/** An unset or empty variable takes the default. */
function raw(env: Env, name: string): string | undefined {
	const v = env[name];
	return v === undefined || v.trim() === "" ? undefined : v.trim();
}

interface NumberBounds {
	min?: number;
	max?: number;
}

function bounded(name: string, value: string, n: number, b: NumberBounds, unit: string): number {
	if (b.min !== undefined && n < b.min) throw bad(name, value, `at least ${b.min}${unit}`);
	if (b.max !== undefined && n > b.max) throw bad(name, value, `at most ${b.max}${unit}`);
	return n;
}

type Default<T> = T | ((env: Env) => T);
const resolveDefault = <T>(d: Default<T>, env: Env): T =>
	typeof d === "function" ? (d as (env: Env) => T)(env) : d;

export function int(
	name: string,
	fallback: Default<number>,
	doc: string,
	bounds: NumberBounds = { min: 0 },
	defaultText?: string,
): Setting<number> {
	return declare({
		name,
		doc,
		defaultText: defaultText ?? String(fallback),
		read(env) {
			const v = raw(env, name);
			if (v === undefined) return resolveDefault(fallback, env);
			if (!/^\d+$/.test(v)) throw bad(name, v, "a whole number");
			return bounded(name, v, Number(v), bounds, "");
		},
	});
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A duration: the variable's name ends in `_MS` or `_SECONDS`, which is the unit of a bare
 * number and of the value read; `30s`, `10m`, `1h`, `7d`, `500ms` convert.
 */
export function parseDuration(name: string, value: string): number {
	const unitMs = name.endsWith("_MS") ? 1 : name.endsWith("_SECONDS") ? 1000 : undefined;
	if (unitMs === undefined) throw new Error(`duration variable ${name} must end in _MS or _SECONDS`);
	const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(value);
	if (!m)
		throw bad(
			name,
			value,
			`a duration (a number of ${unitMs === 1 ? "ms" : "seconds"}, or 500ms, 30s, 10m, 1h, 7d)`,
		);
	const ms = Number(m[1]) * (m[2] ? DURATION_UNITS[m[2]]! : unitMs);
	const out = ms / unitMs;
	if (!Number.isInteger(out)) throw bad(name, value, `a whole number of ${unitMs === 1 ? "ms" : "seconds"}`);
	return out;
}

export function duration(
	name: string,
	fallback: number,
	doc: string,
	bounds: NumberBounds = { min: 0 },
	defaultText?: string,
): Setting<number> {
	parseDuration(name, "0"); // the name must carry its unit
	return declare({
		name,
		doc,
		defaultText: defaultText ?? String(fallback),
		read(env) {
			const v = raw(env, name);
			if (v === undefined) return fallback;
			return bounded(name, v, parseDuration(name, v), bounds, name.endsWith("_MS") ? " ms" : " s");
		},
	});
}

const BYTE_UNITS: Record<string, number> = {
	b: 1,
	k: 1024,
	kb: 1000,
	kib: 1024,
	m: 1024 ** 2,
	mb: 1000 ** 2,
	mib: 1024 ** 2,
	g: 1024 ** 3,
	gb: 1000 ** 3,
	gib: 1024 ** 3,
	t: 1024 ** 4,
	tb: 1000 ** 4,
	tib: 1024 ** 4,
};

/** A size: a bare number is in the unit of the name (`_BYTES`, `_MB` = MiB); `512KiB`, `1GiB`, `10MB` convert. */
export function parseBytes(name: string, value: string): number {
	const unit = name.endsWith("_BYTES") ? 1 : name.endsWith("_MB") ? 1024 ** 2 : undefined;
	if (unit === undefined) throw new Error(`size variable ${name} must end in _BYTES or _MB`);
	const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]+)?$/.exec(value);
	const factor = m?.[2] ? BYTE_UNITS[m[2].toLowerCase()] : unit;
	if (!m || factor === undefined)
		throw bad(
			name,
			value,
			`a size (a number of ${unit === 1 ? "bytes" : "MiB"}, or 512KiB, 64MiB, 1GiB, 10MB)`,
		);
	const out = (Number(m[1]) * factor) / unit;
	return Math.floor(out);
}

export function bytes(
	name: string,
	fallback: Default<number>,
	doc: string,
	bounds: NumberBounds = { min: 1 },
	defaultText?: string,
): Setting<number> {
	parseBytes(name, "0");
	return declare({
		name,
		doc,
		defaultText: defaultText ?? String(fallback),
		read(env) {
			const v = raw(env, name);
			if (v === undefined) return resolveDefault(fallback, env);
			return bounded(name, v, parseBytes(name, v), bounds, "");
		},
	});
}

export function string(
	name: string,
	fallback: Default<string | undefined>,
	doc: string,
	check?: { pattern: RegExp; expected: string },
	defaultText?: string,
): Setting<string> {
	return declare({
		name,
		doc,
		defaultText: defaultText ?? (typeof fallback === "string" ? fallback : "—"),
		read(env) {
			const v = raw(env, name);
			if (v === undefined) return resolveDefault(fallback, env) as string;
			if (check && !check.pattern.test(v)) throw bad(name, v, check.expected);
			return v;
		},
	});
}

/** A string that may be absent (no default). */
export function optionalString(
	name: string,
	doc: string,
	check?: { pattern: RegExp; expected: string },
	defaultText = "—",
): Setting<string | undefined> {
	return declare({
		name,
		doc,
		defaultText,
		read(env) {
			const v = raw(env, name);
			if (v !== undefined && check && !check.pattern.test(v)) throw bad(name, v, check.expected);
			return v;
		},
	});
}

export function oneOf<const T extends string>(
	name: string,
	choices: readonly T[],
	fallback: T,
	doc: string,
): Setting<T> {
	return declare({
		name,
		doc,
		defaultText: fallback,
		read(env) {
			const v = raw(env, name);
			if (v === undefined) return fallback;
			if (!(choices as readonly string[]).includes(v)) throw bad(name, v, `one of ${choices.join(", ")}`);
			return v as T;
		},
	});
}

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off"]);

export function bool(name: string, fallback: boolean, doc: string): Setting<boolean> {
	return declare({
		name,
		doc,
		defaultText: String(fallback),
		read(env) {
			const v = raw(env, name);
			if (v === undefined) return fallback;
			if (TRUE.has(v.toLowerCase())) return true;
			if (FALSE.has(v.toLowerCase())) return false;
			throw bad(name, v, "true or false");
		},
	});
}

/** A comma-separated list; `undefined` when unset (so a default can be computed). */
export function list(
	name: string,
	doc: string,
	check?: { pattern: RegExp; expected: string },
	defaultText = "—",
): Setting<string[] | undefined> {
	return declare({
		name,
		doc,
		defaultText,
		read(env) {
			const v = raw(env, name);
			if (v === undefined) return undefined;
			const items = v
				.split(",")
				.map((s) => s.trim())
				.filter(Boolean);
			if (check) for (const i of items) if (!check.pattern.test(i)) throw bad(name, v, check.expected);
			return items;
		},
	});
}

export function url(
	name: string,
	protocols: string[],
	doc: string,
	defaultText = "—",
): Setting<string | undefined> {
	return declare({
		name,
		doc,
		defaultText,
		read(env) {
			const v = raw(env, name);
			if (v === undefined) return undefined;
			let parsed: URL;
			// A URL may carry a password: messages show it without its userinfo.
			const shown = v.replace(/\/\/[^/@]*@/, "//***@");
			try {
				parsed = new URL(v);
			} catch {
				throw new ConfigError(
					`${name}=${shown} is not a URL (expected ${protocols.join(" or ")}//host:port)`,
				);
			}
			if (!protocols.includes(parsed.protocol))
				throw new ConfigError(`${name}=${shown} must start with ${protocols.join(" or ")}//`);
			return v;
		},
	});
}

/** Reads every setting of an area at once: `readAll(env, {a: int(…), b: …})` → `{a: number, b: …}`. */
export function readAll<S extends Record<string, Setting<unknown>>>(
	env: Env,
	settings: S,
): { [K in keyof S]: S[K] extends Setting<infer T> ? T : never } {
	const out: Record<string, unknown> = {};
	for (const [k, s] of Object.entries(settings)) out[k] = s.read(env);
	return out as { [K in keyof S]: S[K] extends Setting<infer T> ? T : never };
}

/**
 * A secret: `NAME` holds the value, or `NAME_FILE` names a file holding it (read at start, one
 * trailing newline dropped) — the file keeps the value out of every process environment, a
 * parent's included. Both at once is an error. Messages never echo a secret's value.
 * Returns the setting of the value (it reads either variable) and the declaration of `NAME_FILE`.
 */
export function secret(
	name: string,
	doc: string,
	check?: { pattern: RegExp; expected: string },
	defaultText = "—",
): [Setting<string | undefined>, Setting<string | undefined>] {
	const fileName = `${name}_FILE`;
	const file = declare<string | undefined>({
		name: fileName,
		doc: `a file holding \`${name}\` (recommended: no process environment shows the value)`,
		defaultText: "—",
		read: (env) => raw(env, fileName),
	});
	const value = declare<string | undefined>({
		name,
		doc,
		defaultText,
		read(env) {
			const direct = raw(env, name);
			const path = file.read(env);
			if (direct !== undefined && path !== undefined)
				throw new ConfigError(`${name} and ${fileName} are both set: keep one (${fileName} is recommended)`);
			let v = direct;
			let origin = name;
			if (path !== undefined) {
				origin = `${fileName}=${path}`;
				try {
					v = readFileSync(path, "utf8").replace(/\r?\n$/, "");
				} catch (e) {
					throw new ConfigError(
						`${origin}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
					);
				}
				if (v.trim() === "") throw new ConfigError(`${origin}: the file is empty`);
			}
			if (v !== undefined && check && !check.pattern.test(v))
				throw new ConfigError(`${origin} is invalid: expected ${check.expected} (the value is not shown)`);
			return v;
		},
	});
	return [value, file];
}
