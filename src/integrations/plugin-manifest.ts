// Action and integration plugins as CDS describes them: a manifest (`name`, `type`, `author`,
// `description`, `integration` for a deployment plugin) and one binary descriptor per platform
// (`os`, `arch`, `cmd`, `args`, `requirements`). Read from already-parsed YAML; the installed
// form adds, per binary, the uploaded file's name, size and checksum.

import { parse } from "yaml";

/** CDS's plugin types: an action plugin is a step; an `integration-*` plugin serves a model. */
export const ACTION_PLUGIN = "action";
export const DEPLOYMENT_PLUGIN = "integration-deploy_application";
const TYPE_PATTERN = /^(action|platform|integration(-[a-z_]+)?)$/;
export const PLUGIN_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const PLATFORM_PATTERN = /^[a-z0-9_]{1,32}$/;

export type PluginManifest = {
	name: string;
	type: string;
	author?: string;
	description?: string;
	/** The integration model a deployment plugin serves (`integration: Kubernetes`). */
	integration?: string;
};

export type PluginRequirement = {
	name: string;
	type?: string;
	value?: string;
};

export type PluginBinary = {
	os: string;
	arch: string;
	/** What to execute: the uploaded file (`./plugin-simple-linux-amd64`) or a command on PATH (`python`). */
	cmd: string;
	args: string[];
	requirements: PluginRequirement[];
	/** The uploaded file, once installed. */
	file?: { name: string; size: number; sha256: string };
};

export type InstalledPlugin = PluginManifest & {
	binaries: PluginBinary[];
};

export class PluginFormatError extends Error {
	override name = "PluginFormatError";
}

function isObject(v: unknown): v is Record<string, unknown> {
	return typeof v === "object" && v !== null && !Array.isArray(v);
}

function scalar(v: unknown): string | undefined {
	if (typeof v === "string") return v;
	if (typeof v === "number" || typeof v === "boolean") return String(v);
	return undefined;
}

function known(doc: Record<string, unknown>, keys: readonly string[], what: string) {
	for (const key of Object.keys(doc))
		if (!keys.includes(key)) throw new PluginFormatError(`unknown key '${key}' in ${what}`);
}

/** A plugin manifest; throws PluginFormatError naming what is wrong. */
export function readPluginManifest(doc: unknown): PluginManifest {
	if (!isObject(doc)) throw new PluginFormatError("a plugin manifest is a map");
	known(doc, ["name", "type", "author", "description", "integration"], "a plugin manifest");
	const name = scalar(doc.name);
	if (!name || !PLUGIN_NAME_PATTERN.test(name))
		throw new PluginFormatError("'name' is required: letters, digits, . _ - (at most 128)");
	const type = scalar(doc.type);
	if (!type || !TYPE_PATTERN.test(type))
		throw new PluginFormatError(`'type' must be action or integration-<kind> (${DEPLOYMENT_PLUGIN}…)`);
	const integration = scalar(doc.integration);
	if (type.startsWith("integration") && !integration)
		throw new PluginFormatError(`an ${type} plugin names the integration model it serves ('integration')`);
	const author = scalar(doc.author);
	const description = scalar(doc.description);
	return {
		name,
		type,
		...(author !== undefined ? { author } : {}),
		...(description !== undefined ? { description } : {}),
		...(integration ? { integration } : {}),
	};
}

/** One binary descriptor; throws PluginFormatError naming what is wrong. */
export function readPluginBinary(doc: unknown): PluginBinary {
	if (!isObject(doc)) throw new PluginFormatError("a plugin binary descriptor is a map");
	known(doc, ["os", "arch", "cmd", "args", "requirements", "name", "entrypoints"], "a plugin binary descriptor");
	const os = scalar(doc.os);
	const arch = scalar(doc.arch);
	const cmd = scalar(doc.cmd);
	if (!os || !PLATFORM_PATTERN.test(os)) throw new PluginFormatError("'os' is required (linux, darwin…)");
	if (!arch || !PLATFORM_PATTERN.test(arch)) throw new PluginFormatError("'arch' is required (amd64, arm64…)");
	if (!cmd) throw new PluginFormatError("'cmd' is required");
	const args = doc.args ?? [];
	if (!Array.isArray(args) || args.some((a) => scalar(a) === undefined))
		throw new PluginFormatError("'args' is a list of strings");
	const reqs = doc.requirements ?? [];
	if (!Array.isArray(reqs)) throw new PluginFormatError("'requirements' is a list");
	const requirements = reqs.map((r): PluginRequirement => {
		if (!isObject(r) || !scalar(r.name)) throw new PluginFormatError("a requirement has a 'name'");
		const type = scalar(r.type);
		const value = scalar(r.value);
		return {
			name: scalar(r.name)!,
			...(type !== undefined ? { type } : {}),
			...(value !== undefined ? { value } : {}),
		};
	});
	return { os, arch, cmd, args: args.map((a) => scalar(a)!), requirements };
}

/**
 * The file a descriptor runs, which `cds admin plugin import` uploads beside it: `cmd` when it
 * is `./file`, else the first argument naming a file (`python hello.py`), else a bare `cmd`.
 */
export function binaryFileName(binary: Pick<PluginBinary, "cmd" | "args">): string | undefined {
	const local = (word: string) => word.replace(/^\.\//, "");
	if (binary.cmd.startsWith("./")) return plainName(local(binary.cmd));
	const arg = binary.args.find((a) => a.startsWith("./") || /^[^/]+\.[A-Za-z0-9]+$/.test(a));
	if (arg) return plainName(local(arg));
	return plainName(binary.cmd);
}

function plainName(name: string): string | undefined {
	return name && !name.includes("/") && name !== "." && name !== ".." ? name : undefined;
}

/** Go's names of a Node platform and architecture, as CDS's descriptors spell them. */
export function goPlatform(platform: string, arch: string): { os: string; arch: string } {
	const osName = platform === "win32" ? "windows" : platform;
	const archName = arch === "x64" ? "amd64" : arch === "ia32" ? "386" : arch;
	return { os: osName, arch: archName };
}

/** The binary of a plugin for one platform, or undefined. */
export function binaryFor(plugin: InstalledPlugin, os: string, arch: string): PluginBinary | undefined {
	return plugin.binaries.find((b) => b.os === os && b.arch === arch);
}

/**
 * How to run an installed binary placed in `dir`: `cmd` (and any argument) naming the uploaded
 * file becomes its path; any other `cmd` is a command on the step's PATH (`python hello.py`).
 */
export function pluginInvocation(binary: PluginBinary, dir: string): { command: string; args: string[] } {
	const file = binary.file?.name;
	const resolve = (word: string) => (file && word.replace(/^\.\//, "") === file ? `${dir}/${file}` : word);
	return { command: resolve(binary.cmd), args: binary.args.map(resolve) };
}

/** YAML text to a document, a syntax error as a PluginFormatError naming the file. */
export function parsePluginYaml(text: string, file: string): unknown {
	try {
		return parse(text);
	} catch (err) {
		throw new PluginFormatError(`${file}: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
	}
}
