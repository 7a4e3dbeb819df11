// Installed plugins as CDS describes them: a manifest (`name`, `type`, `author`, `description`,
// `integration` for a deployment plugin) and one binary descriptor per platform (`os`, `arch`,
// `cmd`, `args`, `requirements`), read by plugin-file.ts; the installed form adds, per binary,
// the uploaded file's name, size and checksum.

/** CDS's plugin types: an action plugin is a step; an `integration-*` plugin serves a model. */
export const ACTION_PLUGIN = "action";
export const DEPLOYMENT_PLUGIN = "integration-deploy_application";
export const PLUGIN_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

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

/** The plugins a worker of `osArch` (linux/amd64) can run: those with a binary for it. */
export function pluginsRunnableOn(installed: readonly InstalledPlugin[], osArch: string): string[] {
	const [os, arch] = osArch.split("/");
	return installed.filter((p) => p.binaries.some((b) => b.os === os && b.arch === arch)).map((p) => p.name);
}

/** A step action as far as plugins care. */
type ActionLike = { kind: string; name?: string; [other: string]: unknown };

/** The plugins a job's steps name (`plugin:` or CDS's `- name:` step). */
export function pluginsNamedBy(steps: ReadonlyArray<{ action: ActionLike }>): string[] {
	return [...new Set(steps.filter((s) => s.action.kind === "plugin").map((s) => s.action.name!))];
}

/** Whether a job deploys (`deploy:`, CDS's DeployApplication): its deployment plugin is then one it runs. */
export function deploysApplication(steps: ReadonlyArray<{ action: ActionLike }>): boolean {
	return steps.some((s) => s.action.kind === "builtin" && s.action.name === "deploy");
}
