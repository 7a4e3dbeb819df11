// Installed plugins (action plugins and integration plugins such as deployment plugins): their
// manifests and, per platform, a binary descriptor and the uploaded binary. A system
// administrator installs them (`cds admin plugin import MANIFEST [BINARIES…]`); workers fetch
// a binary through the worker API, for a plugin their own job uses only. Hosted with `run`
// (server.ts): binaries live in the same blob store as artifacts, and the garbage collector
// asks `plugin.blobs` which of them are held here.

import type { Readable } from "node:stream";
import type { Context, Service, ServiceSchema } from "moleculer";
import type { Config } from "../config/index.ts";
import { StoreMixin } from "../mixins/store.mixin.ts";
import { pagination } from "../schemas/params.ts";
import { MAX_PAGE, type Page, type PageOptions, paginate } from "../src/api/pagination.ts";
import type { GatewayMeta } from "../schemas/meta.ts";
import { BlobTooLargeError } from "../src/artifacts/artifact-store.ts";
import {
	diagnosticLines,
	readPluginBinaryFile,
	readPluginManifestFile,
} from "../src/integrations/plugin-file.ts";
import {
	binaryFileName,
	binaryFor,
	type InstalledPlugin,
	PLUGIN_NAME_PATTERN,
} from "../src/integrations/plugin-manifest.ts";
import type { Diagnostic } from "../src/workflow/diagnostics.ts";
import type { Collection } from "../src/store/types.ts";
import { invalid, notFound } from "./support/errors.ts";
import { runtimeOf } from "./support/runtime.ts";

type PluginDoc = InstalledPlugin & {
	_id: string;
	created: string;
	updated: string;
};

type PluginThis = Service & {
	collections: Record<string, Collection<any>>;
	plugins(): Collection<PluginDoc>;
	requirePlugin(name: string): Promise<PluginDoc>;
	changed(): void;
};

type Ctx<P> = Context<P, GatewayMeta & { $params?: Record<string, string>; $statusCode?: number }>;

const nameParam = { type: "string", pattern: PLUGIN_NAME_PATTERN } as const;
const platformParam = { type: "string", pattern: /^[a-z0-9_]{1,32}$/ } as const;
const yamlText = { type: "string", min: 1, max: 64 * 1024 } as const;

function present(doc: PluginDoc): InstalledPlugin & { created: string; updated: string } {
	const { _id, ...rest } = doc;
	return rest;
}

/** 422 with every located error (`file:line:column: reason`). */
function formatError(errors: readonly Diagnostic[]): never {
	throw invalid(
		diagnosticLines(errors),
		errors.map((d) => ({ ...d })),
	);
}

export default function PluginService(config: Config): ServiceSchema<any, any, any, PluginThis> {
	const admin = { level: "system-admin" } as const;
	return {
		name: "plugin",
		mixins: [StoreMixin([{ name: "plugins" }])],
		settings: { rest: "/admin/plugins" },

		actions: {
			import: {
				rest: "POST /",
				summary:
					"Install or update a plugin from its manifest (name, type, author, description, integration)",
				permission: admin,
				params: { manifest: yamlText, file: { type: "string", max: 256, optional: true } },
				async handler(this: PluginThis, ctx: Ctx<{ manifest: string; file?: string }>) {
					// An integration plugin names a model the server knows (built in or imported).
					const modelNames: string[] = [];
					let cursor: string | undefined;
					do {
						const page = (await ctx.call("project.listIntegrationModels", {
							limit: MAX_PAGE,
							cursor,
						})) as Page<{
							name: string;
						}>;
						modelNames.push(...page.items.map((m) => m.name));
						cursor = page.next ?? undefined;
					} while (cursor);
					const read = readPluginManifestFile(
						{ path: ctx.params.file ?? "manifest.yml", content: ctx.params.manifest },
						modelNames,
					);
					if (!read.value) formatError(read.errors);
					const manifest = read.value;
					const existing = await this.plugins().findOne({ _id: manifest.name });
					const at = new Date().toISOString();
					// A new manifest keeps the binaries already uploaded: binaries are per platform, added apart.
					await this.plugins().replace({
						_id: manifest.name,
						...manifest,
						binaries: existing?.binaries ?? [],
						created: existing?.created ?? at,
						updated: at,
					});
					if (!existing) ctx.meta.$statusCode = 201;
					this.changed();
					return present((await this.plugins().findOne({ _id: manifest.name }))!);
				},
			},

			addBinary: {
				rest: "POST /:name/binaries",
				summary:
					"Declare a plugin's binary for one platform (os, arch, cmd, args, requirements); upload its file next",
				permission: admin,
				params: { name: nameParam, descriptor: yamlText, file: { type: "string", max: 256, optional: true } },
				async handler(this: PluginThis, ctx: Ctx<{ name: string; descriptor: string; file?: string }>) {
					const plugin = await this.requirePlugin(ctx.params.name);
					const read = readPluginBinaryFile({
						path: ctx.params.file ?? "descriptor.yml",
						content: ctx.params.descriptor,
					});
					if (!read.value) formatError(read.errors);
					const binary = read.value;
					const binaries = plugin.binaries.filter((b) => !(b.os === binary.os && b.arch === binary.arch));
					binaries.push(binary);
					binaries.sort((a, b) => `${a.os}/${a.arch}`.localeCompare(`${b.os}/${b.arch}`));
					await this.plugins().update(
						{ _id: plugin._id },
						{ $set: { binaries, updated: new Date().toISOString() } },
					);
					this.changed();
					return { ...binary, expectedFile: binaryFileName(binary) ?? null };
				},
			},

			putBinary: {
				// `type: "stream"` (moleculer-web) hands the raw request body to the action as a stream.
				rest: {
					method: "PUT",
					path: "/:name/binaries/:os/:arch",
					basePath: "/admin/plugins",
					type: "stream",
				} as unknown as string,
				summary: "Upload the file of a plugin's binary (raw body, CDS_MAX_PLUGIN_BYTES at most)",
				permission: admin,
				params: {},
				async handler(this: PluginThis, ctx: Ctx<Record<string, unknown>>) {
					const p = { ...(ctx.meta.$params ?? {}), ...((ctx.params ?? {}) as Record<string, string>) };
					const [name, os, arch] = [String(p.name ?? ""), String(p.os ?? ""), String(p.arch ?? "")];
					if (
						!PLUGIN_NAME_PATTERN.test(name) ||
						!/^[a-z0-9_]{1,32}$/.test(os) ||
						!/^[a-z0-9_]{1,32}$/.test(arch)
					)
						throw invalid("invalid plugin name, os or arch");
					const plugin = await this.requirePlugin(name);
					const binary = binaryFor(plugin, os, arch);
					if (!binary) throw notFound(`binary ${os}/${arch} of plugin ${name} (declare it first)`);
					const fileName = binaryFileName(binary);
					if (!fileName)
						throw invalid(`the descriptor of ${os}/${arch} names no file to run (cmd: ${binary.cmd})`);
					const body = (ctx as unknown as { stream?: Readable }).stream;
					if (!body) throw invalid("the request has no body");
					let info: { sha256: string; size: number };
					try {
						info = await runtimeOf(this.broker).artifacts.put(body, {
							maxBytes: config.artifacts.maxPluginBytes,
						});
					} catch (e) {
						if (e instanceof BlobTooLargeError)
							throw Object.assign(
								invalid(
									`plugin binary larger than ${config.artifacts.maxPluginBytes} bytes (CDS_MAX_PLUGIN_BYTES)`,
								),
								{
									code: 413,
									type: "PAYLOAD_TOO_LARGE",
								},
							);
						throw e;
					}
					const fresh = await this.requirePlugin(name);
					const binaries = fresh.binaries.map((b) =>
						b.os === os && b.arch === arch
							? { ...b, file: { name: fileName, size: info.size, sha256: info.sha256 } }
							: b,
					);
					await this.plugins().update(
						{ _id: name },
						{ $set: { binaries, updated: new Date().toISOString() } },
					);
					this.changed();
					return { name, os, arch, file: fileName, size: info.size, sha256: info.sha256 };
				},
			},

			list: {
				rest: "GET /",
				summary: "Installed plugins",
				permission: { level: "authenticated" },
				params: { ...pagination },
				async handler(this: PluginThis, ctx: Ctx<PageOptions>) {
					return paginate(this.plugins(), {}, ctx.params, present);
				},
			},

			get: {
				rest: "GET /:name",
				summary: "One installed plugin, its binaries and their files",
				permission: { level: "authenticated" },
				params: { name: nameParam },
				async handler(this: PluginThis, ctx: Ctx<{ name: string }>) {
					return present(await this.requirePlugin(ctx.params.name));
				},
			},

			remove: {
				rest: "DELETE /:name",
				summary: "Uninstall a plugin (its binaries go with the next garbage collection)",
				permission: admin,
				params: { name: nameParam },
				async handler(this: PluginThis, ctx: Ctx<{ name: string }>) {
					const removed = await this.plugins().remove({ _id: ctx.params.name });
					if (removed === 0) throw notFound(`plugin ${ctx.params.name}`);
					this.changed();
					return { name: ctx.params.name, deleted: true };
				},
			},

			// Internal actions (no route): lint context, workers, the garbage collector.
			names: {
				params: {},
				async handler(this: PluginThis) {
					return { names: (await this.plugins().find({}, { sort: { _id: 1 } })).map((d) => d.name) };
				},
			},

			installed: {
				params: {},
				async handler(this: PluginThis) {
					return { items: (await this.plugins().find({})).map(({ _id, created, updated, ...p }) => p) };
				},
			},

			forPlatform: {
				params: { name: nameParam, os: platformParam, arch: platformParam },
				async handler(this: PluginThis, ctx: Ctx<{ name: string; os: string; arch: string }>) {
					const plugin = await this.requirePlugin(ctx.params.name);
					const binary = binaryFor(plugin, ctx.params.os, ctx.params.arch);
					if (!binary)
						throw notFound(`a ${ctx.params.os}/${ctx.params.arch} binary of plugin ${plugin.name}`);
					return { name: plugin.name, type: plugin.type, binary };
				},
			},

			blobs: {
				params: {},
				async handler(this: PluginThis) {
					const sha256: string[] = [];
					for (const doc of await this.plugins().find({}))
						for (const b of doc.binaries) if (b.file) sha256.push(b.file.sha256);
					return { sha256 };
				},
			},
		},

		methods: {
			/** Hatcheries keep the installed plugins a while (plugin requirements): tell them. */
			changed(this: PluginThis) {
				this.broker.broadcast("plugin.changed", {});
			},
			plugins(this: PluginThis) {
				return this.collections.plugins as Collection<PluginDoc>;
			},
			async requirePlugin(this: PluginThis, name: string) {
				const doc = await this.plugins().findOne({ _id: name });
				if (!doc) throw notFound(`plugin ${name}`);
				return doc;
			},
		},
	};
}
