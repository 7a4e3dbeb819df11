// cds project integration import|list|show|export|delete and
// cds admin integration-model import|list|show|delete: CDS's integration files through the API.

import { formatLocated } from "../errors.ts";
import { seg } from "../http.ts";
import { collectImportFiles } from "../import-files.ts";
import { JSON_OPTION } from "../options.ts";
import type { CommandRegistry } from "../registry.ts";
import type { IntegrationConfig, IntegrationModel, ProjectIntegration } from "../../integrations/model.ts";
import { formatFields, formatTable } from "../table.ts";

type Config = IntegrationConfig;

/** A project integration as the API answers it (passwords masked). */
interface Integration extends ProjectIntegration {
	created?: boolean;
	warnings?: Array<{ file?: string; line?: number; column?: number; message: string }>;
}

/** A model as the API answers it. */
interface Model extends IntegrationModel {
	builtin: boolean;
	created?: boolean;
}

const FLAGS = ["storage", "deployment", "compute", "hook", "event", "artifactManager"] as const;

function flagsOf(m: Model): string {
	return FLAGS.filter((f) => m[f]).join(",") || "-";
}

function configRows(config: Config | undefined, prefix: string): Array<[string, string]> {
	return Object.keys(config ?? {})
		.sort()
		.map((k) => [`${prefix}${k}`, `${config![k]!.value} (${config![k]!.type})`]);
}

export function register(registry: CommandRegistry): void {
	registry.addGroup({ path: ["project", "integration"], summary: "Manage a project's integrations" });

	registry.add({
		path: ["project", "integration", "import"],
		summary: "Import project integration files (CDS's name, model, config); passwords may be sealed",
		args: "KEY FILE...",
		positionals: { min: 2 },
		options: { json: JSON_OPTION },
		async run(ctx) {
			const [key, ...paths] = ctx.positionals as [string, ...string[]];
			const files = await collectImportFiles(paths, ctx.io.cwd);
			const client = await ctx.client();
			const results: Integration[] = [];
			for (const file of files) {
				results.push(await client.post<Integration>(`/projects/${seg(key)}/integrations/import`, file));
			}
			if (ctx.values.json) {
				ctx.printJson(results);
				return 0;
			}
			for (const r of results) {
				ctx.print(`${r.created ? "created" : "updated"}  integration ${r.name} (${r.model})`);
				for (const w of r.warnings ?? []) ctx.warn(`warning: ${formatLocated(w)}`);
			}
			return 0;
		},
	});

	registry.add({
		path: ["project", "integration", "list"],
		summary: "List a project's integrations",
		args: "KEY",
		positionals: { min: 1, max: 1 },
		options: { json: JSON_OPTION },
		async run(ctx) {
			const key = ctx.positionals[0]!;
			const items = await (await ctx.client()).listAll<Integration>(`/projects/${seg(key)}/integrations`);
			if (ctx.values.json) ctx.printJson(items);
			else
				ctx.print(
					formatTable(
						["NAME", "MODEL"],
						items.map((i) => [i.name, i.model]),
					),
				);
			return 0;
		},
	});

	registry.add({
		path: ["project", "integration", "show"],
		summary: "Show a project integration (passwords masked)",
		args: "KEY NAME",
		positionals: { min: 2, max: 2 },
		options: { json: JSON_OPTION },
		async run(ctx) {
			const [key, name] = ctx.positionals as [string, string];
			const i = await (await ctx.client()).get<Integration>(
				`/projects/${seg(key)}/integrations/${seg(name)}`,
			);
			if (ctx.values.json) ctx.printJson(i);
			else
				ctx.print(formatFields([["name", i.name], ["model", i.model], ...configRows(i.config, "config.")]));
			return 0;
		},
	});

	registry.add({
		path: ["project", "integration", "export"],
		summary: "Print a project integration as a CDS file (passwords sealed with the project key)",
		args: "KEY NAME",
		positionals: { min: 2, max: 2 },
		async run(ctx) {
			const [key, name] = ctx.positionals as [string, string];
			const file = await (await ctx.client()).get<{ path: string; content: string }>(
				`/projects/${seg(key)}/integrations/${seg(name)}/export`,
			);
			ctx.print(file.content.replace(/\n$/, ""));
			return 0;
		},
	});

	registry.add({
		path: ["project", "integration", "delete"],
		summary: "Delete a project integration",
		args: "KEY NAME",
		positionals: { min: 2, max: 2 },
		async run(ctx) {
			const [key, name] = ctx.positionals as [string, string];
			await (await ctx.client()).delete(`/projects/${seg(key)}/integrations/${seg(name)}`);
			ctx.print(`deleted integration ${name}`);
			return 0;
		},
	});

	try {
		registry.addGroup({ path: ["admin"], summary: "System administration (system administrator token)" });
	} catch {
		// Another module registered the admin group already.
	}
	registry.addGroup({
		path: ["admin", "integration-model"],
		summary: "Manage integration models (importing one needs a system administrator token)",
	});

	registry.add({
		path: ["admin", "integration-model", "import"],
		summary: "Import integration model files (CDS's format)",
		args: "FILE...",
		positionals: { min: 1 },
		options: { json: JSON_OPTION },
		async run(ctx) {
			const files = await collectImportFiles(ctx.positionals, ctx.io.cwd);
			const client = await ctx.client();
			const results: Model[] = [];
			for (const file of files) results.push(await client.post<Model>("/integration-models/import", file));
			if (ctx.values.json) ctx.printJson(results);
			else
				for (const m of results)
					ctx.print(`${m.created ? "created" : "updated"}  integration model ${m.name}`);
			return 0;
		},
	});

	registry.add({
		path: ["admin", "integration-model", "list"],
		summary: "List integration models (built-in and imported)",
		options: { json: JSON_OPTION },
		async run(ctx) {
			const items = await (await ctx.client()).listAll<Model>("/integration-models");
			if (ctx.values.json) ctx.printJson(items);
			else
				ctx.print(
					formatTable(
						["NAME", "CAPABILITIES", "BUILTIN"],
						items.map((m) => [m.name, flagsOf(m), m.builtin ? "yes" : "no"]),
					),
				);
			return 0;
		},
	});

	registry.add({
		path: ["admin", "integration-model", "show"],
		summary: "Show an integration model",
		args: "NAME",
		positionals: { min: 1, max: 1 },
		options: { json: JSON_OPTION },
		async run(ctx) {
			const m = await (await ctx.client()).get<Model>(`/integration-models/${seg(ctx.positionals[0]!)}`);
			if (ctx.values.json) ctx.printJson(m);
			else
				ctx.print(
					formatFields([
						["name", m.name],
						["author", m.author ?? ""],
						["capabilities", flagsOf(m)],
						["builtin", m.builtin ? "yes" : "no"],
						...configRows(m.defaultConfig, "default_config."),
						...configRows(m.additionalDefaultConfig, "additional_default_config."),
					]),
				);
			return 0;
		},
	});

	registry.add({
		path: ["admin", "integration-model", "delete"],
		summary: "Delete an imported integration model",
		args: "NAME",
		positionals: { min: 1, max: 1 },
		async run(ctx) {
			const name = ctx.positionals[0]!;
			await (await ctx.client()).delete(`/integration-models/${seg(name)}`);
			ctx.print(`deleted integration model ${name}`);
			return 0;
		},
	});
}
