// cds admin plugin import|list|show|delete: installing action and integration plugins (system administrator).

import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import {
	diagnosticLines,
	readPluginBinaryFile,
	readPluginManifestFile,
} from "../../integrations/plugin-file.ts";
import { binaryFileName } from "../../integrations/plugin-manifest.ts";
import { UsageError, ValidationError } from "../errors.ts";
import { seg } from "../http.ts";
import { JSON_OPTION } from "../options.ts";
import type { CommandRegistry } from "../registry.ts";
import { formatFields, formatTable } from "../table.ts";

interface PluginInfo {
	name: string;
	type: string;
	author?: string;
	description?: string;
	integration?: string;
	binaries: Array<{ os: string; arch: string; cmd: string; file?: { name: string; size: number } }>;
}

async function readText(path: string): Promise<string> {
	try {
		return await readFile(path, "utf8");
	} catch (err) {
		throw new UsageError(`cannot read ${path}: ${(err as Error).message}`);
	}
}

/** `DESCRIPTOR[=FILE]`: a binary descriptor and the file it runs (by default the one its `cmd` names, beside it). */
async function binaryArgument(arg: string) {
	const [descriptorPath, explicit] = arg.includes("=")
		? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
		: [arg, undefined];
	const descriptor = await readText(descriptorPath);
	const read = readPluginBinaryFile({ path: descriptorPath, content: descriptor });
	if (!read.value) throw new ValidationError(diagnosticLines(read.errors));
	const binary = read.value;
	const named = binaryFileName(binary);
	const filePath = explicit ?? (named ? join(dirname(descriptorPath), named) : undefined);
	let bytes: Buffer | undefined;
	if (filePath) {
		try {
			bytes = await readFile(filePath);
		} catch (err) {
			if (explicit) throw new UsageError(`cannot read ${filePath}: ${(err as Error).message}`);
			// `cmd: python` with nothing beside it: a command of the worker's host, no file to upload.
		}
	}
	return { descriptorPath, descriptor, binary, bytes, filePath };
}

export function register(registry: CommandRegistry): void {
	try {
		registry.addGroup({ path: ["admin"], summary: "System administration (system administrator token)" });
	} catch {
		// Another module registered the admin group already.
	}
	registry.addGroup({ path: ["admin", "plugin"], summary: "Install action and integration plugins" });

	registry.add({
		path: ["admin", "plugin", "import"],
		summary: "Install a plugin: its manifest and a binary descriptor (and file) per platform",
		args: "MANIFEST [DESCRIPTOR[=FILE]...]",
		positionals: { min: 1 },
		options: { json: JSON_OPTION },
		details:
			"MANIFEST is CDS's plugin manifest (name, type, author, description, integration). Each DESCRIPTOR is a binary descriptor (os, arch, cmd, args, requirements); the file it runs is uploaded with it: FILE, else the file its cmd (./plugin-linux-amd64) or first file argument (hello.py) names beside the descriptor. Binaries are limited to CDS_MAX_PLUGIN_BYTES on the server.",
		async run(ctx) {
			const [manifestPath, ...binaryArgs] = ctx.positionals;
			const manifestText = await readText(manifestPath!);
			const client = await ctx.client();
			// An integration plugin names a model the server knows.
			const models = await client.listAll<{ name: string }>("/integration-models");
			const read = readPluginManifestFile(
				{ path: manifestPath!, content: manifestText },
				models.map((m) => m.name),
			);
			if (!read.value) throw new ValidationError(diagnosticLines(read.errors));
			const name = read.value.name;
			// Every file is read before the first request: a missing file installs nothing.
			const binaries = [];
			for (const arg of binaryArgs) binaries.push(await binaryArgument(arg));
			await client.post("/admin/plugins", { manifest: manifestText, file: basename(manifestPath!) });
			for (const b of binaries) {
				await client.post(`/admin/plugins/${seg(name)}/binaries`, {
					descriptor: b.descriptor,
					file: basename(b.descriptorPath),
				});
				if (b.bytes)
					await client.request(
						"PUT",
						`/admin/plugins/${seg(name)}/binaries/${seg(b.binary.os)}/${seg(b.binary.arch)}`,
						b.bytes,
					);
				if (!ctx.values.json)
					ctx.print(
						`${name}: ${b.binary.os}/${b.binary.arch} ${b.bytes ? `${b.filePath} (${b.bytes.length} bytes)` : `runs ${b.binary.cmd} from the worker's PATH`}`,
					);
			}
			const installed = await client.get<PluginInfo>(`/admin/plugins/${seg(name)}`);
			if (ctx.values.json) ctx.printJson(installed);
			else ctx.print(`plugin ${name} installed (${installed.type}, ${installed.binaries.length} binaries)`);
			return 0;
		},
	});

	registry.add({
		path: ["admin", "plugin", "list"],
		summary: "List installed plugins",
		options: { json: JSON_OPTION },
		async run(ctx) {
			const { items } = await (await ctx.client()).get<{ items: PluginInfo[] }>("/admin/plugins");
			if (ctx.values.json) ctx.printJson(items);
			else
				ctx.print(
					formatTable(
						["NAME", "TYPE", "INTEGRATION", "PLATFORMS"],
						items.map((p) => [
							p.name,
							p.type,
							p.integration ?? "",
							p.binaries.map((b) => `${b.os}/${b.arch}`).join(","),
						]),
					),
				);
			return 0;
		},
	});

	registry.add({
		path: ["admin", "plugin", "show"],
		summary: "Show an installed plugin",
		args: "NAME",
		positionals: { min: 1, max: 1 },
		options: { json: JSON_OPTION },
		async run(ctx) {
			const p = await (await ctx.client()).get<PluginInfo>(`/admin/plugins/${seg(ctx.positionals[0]!)}`);
			if (ctx.values.json) ctx.printJson(p);
			else
				ctx.print(
					formatFields([
						["name", p.name],
						["type", p.type],
						["integration", p.integration ?? ""],
						["author", p.author ?? ""],
						["description", p.description ?? ""],
						...p.binaries.map((b): [string, string] => [
							`${b.os}/${b.arch}`,
							`${b.cmd}${b.file ? ` (${b.file.name}, ${b.file.size} bytes)` : ""}`,
						]),
					]),
				);
			return 0;
		},
	});

	registry.add({
		path: ["admin", "plugin", "delete"],
		summary: "Uninstall a plugin",
		args: "NAME",
		positionals: { min: 1, max: 1 },
		async run(ctx) {
			await (await ctx.client()).delete(`/admin/plugins/${seg(ctx.positionals[0]!)}`);
			ctx.print(`plugin ${ctx.positionals[0]} deleted`);
			return 0;
		},
	});
}
