// cds workflow lint|import|export|list|show

import { writeExportFiles, type ExportedFile } from "../export-files.ts";
import { formatLocated } from "../errors.ts";
import { seg } from "../http.ts";
import { collectImportFiles } from "../import-files.ts";
import { JSON_OPTION } from "../options.ts";
import type { CommandRegistry } from "../registry.ts";
import { formatFields, formatTable } from "../table.ts";
import { runLint } from "./workflow-lint.ts";

export interface WorkflowSummary {
	name: string;
	branch?: string | null;
	version?: string | number | null;
	definitionId?: string;
	created?: string;
	updated?: string;
	asCode?: boolean;
}

export interface WorkflowDetail extends WorkflowSummary {
	model?: unknown;
}

export interface ImportResult {
	workflows: string[];
	pipelines: string[];
	applications: string[];
	environments: string[];
	integrationModels?: string[];
	integrations?: string[];
	created: string[];
	updated: string[];
	ignored: Array<{ path: string; reason: string }>;
	warnings: Array<{ file?: string; line?: number; column?: number; message: string }>;
}

interface ModelNode {
	name: string;
	pipeline?: string;
	application?: string;
	environment?: string;
	dependsOn?: string[];
}

/** The nodes of a workflow model, tolerating models without them (the table is then left out). */
function modelNodes(model: unknown): ModelNode[] {
	const nodes = (model as { nodes?: unknown } | null | undefined)?.nodes;
	if (!Array.isArray(nodes)) return [];
	return nodes.filter(
		(n): n is ModelNode => typeof n === "object" && n !== null && typeof n.name === "string",
	);
}

function plural(count: number, word: string): string {
	return `${count} ${word}${count === 1 ? "" : "s"}`;
}

export function register(registry: CommandRegistry): void {
	registry.addGroup({ path: ["workflow"], summary: "Lint, import, export and inspect workflows" });

	registry.add({
		path: ["workflow", "lint"],
		summary: "Check workflow files offline (no server needed)",
		args: "PATH...",
		positionals: { min: 1 },
		options: { json: { type: "boolean", description: "print { files, errors, warnings, model } as JSON" } },
		details: "Exits with 2 when any file is rejected.",
		run: (ctx) => runLint(ctx),
	});

	registry.add({
		path: ["workflow", "import"],
		summary: "Upload as-code files (*.yml, *.yaml, *.json; directories recursively) into a project",
		args: "KEY PATH...",
		positionals: { min: 2 },
		options: {
			force: { type: "boolean", description: "replace workflows that already exist" },
			json: JSON_OPTION,
		},
		async run(ctx) {
			const [key, ...paths] = ctx.positionals as [string, ...string[]];
			const files = await collectImportFiles(paths, ctx.io.cwd);
			const result = await (await ctx.client()).post<ImportResult>(`/projects/${seg(key)}/import`, {
				files,
				force: ctx.values.force === true,
			});
			if (ctx.values.json) {
				ctx.printJson(result);
				return 0;
			}
			const counts = [
				plural(result.workflows?.length ?? 0, "workflow"),
				plural(result.pipelines?.length ?? 0, "pipeline"),
				plural(result.applications?.length ?? 0, "application"),
				plural(result.environments?.length ?? 0, "environment"),
				...(result.integrationModels?.length
					? [plural(result.integrationModels.length, "integration model")]
					: []),
				...(result.integrations?.length ? [plural(result.integrations.length, "integration")] : []),
			];
			ctx.print(`imported ${plural(files.length, "file")} into ${key}: ${counts.join(", ")}`);
			for (const name of result.created ?? []) ctx.print(`created  ${name}`);
			for (const name of result.updated ?? []) ctx.print(`updated  ${name}`);
			for (const file of result.ignored ?? []) ctx.print(`ignored  ${file.path} (${file.reason})`);
			for (const warning of result.warnings ?? []) ctx.warn(`warning: ${formatLocated(warning)}`);
			return 0;
		},
	});

	registry.add({
		path: ["workflow", "export"],
		summary: "Export a workflow and the pipelines, applications and environments it uses",
		args: "KEY WORKFLOW",
		positionals: { min: 2, max: 2 },
		options: {
			format: {
				type: "string",
				valueName: "yaml|json",
				choices: ["yaml", "json"],
				description: "file format (yaml)",
			},
			output: { type: "string", short: "o", valueName: "DIR", description: "write the files into DIR" },
		},
		details: "Without -o the files are printed to stdout, each after a `# file: NAME` line.",
		async run(ctx) {
			const [key, name] = ctx.positionals as [string, string];
			const format = (ctx.values.format as string | undefined) ?? "yaml";
			const { files } = await (await ctx.client()).get<{ files: ExportedFile[] }>(
				`/projects/${seg(key)}/workflows/${seg(name)}/export`,
				{ format },
			);
			const dir = ctx.values.output as string | undefined;
			if (dir === undefined) {
				for (const file of files) {
					ctx.print(`# file: ${file.path}`);
					ctx.io.stdout.write(file.content.endsWith("\n") ? file.content : `${file.content}\n`);
				}
				return 0;
			}
			const written = await writeExportFiles(dir, files);
			for (const path of written) ctx.print(`wrote ${path}`);
			return 0;
		},
	});

	registry.add({
		path: ["workflow", "list"],
		summary: "List the workflows of a project",
		args: "KEY",
		positionals: { min: 1, max: 1 },
		options: { json: JSON_OPTION },
		async run(ctx) {
			const key = ctx.positionals[0]!;
			const workflows = await (await ctx.client()).listAll<WorkflowSummary>(
				`/projects/${seg(key)}/workflows`,
			);
			if (ctx.values.json) ctx.printJson(workflows);
			else {
				ctx.print(
					formatTable(
						["NAME", "BRANCH", "VERSION", "AS-CODE", "UPDATED"],
						workflows.map((w) => [w.name, w.branch, w.version, w.asCode ? "yes" : "no", w.updated]),
					),
				);
			}
			return 0;
		},
	});

	registry.add({
		path: ["workflow", "delete"],
		summary: "Delete a workflow and all its definitions",
		args: "KEY WORKFLOW",
		positionals: { min: 2, max: 2 },
		async run(ctx) {
			const [key, name] = ctx.positionals as [string, string];
			await (await ctx.client()).delete(`/projects/${seg(key)}/workflows/${seg(name)}`);
			ctx.print(`deleted workflow ${name} of project ${key}`);
			return 0;
		},
	});

	registry.add({
		path: ["workflow", "show"],
		summary: "Show a workflow",
		args: "KEY WORKFLOW",
		positionals: { min: 2, max: 2 },
		options: {
			branch: { type: "string", valueName: "B", description: "the branch of an as-code workflow" },
			json: JSON_OPTION,
		},
		async run(ctx) {
			const [key, name] = ctx.positionals as [string, string];
			const workflow = await (await ctx.client()).get<WorkflowDetail>(
				`/projects/${seg(key)}/workflows/${seg(name)}`,
				{ branch: ctx.values.branch as string | undefined },
			);
			if (ctx.values.json) {
				ctx.printJson(workflow);
				return 0;
			}
			ctx.print(
				formatFields([
					["name", workflow.name],
					["branch", workflow.branch],
					["version", workflow.version],
					["definition", workflow.definitionId],
					["as-code", workflow.asCode === undefined ? undefined : workflow.asCode ? "yes" : "no"],
					["created", workflow.created],
					["updated", workflow.updated],
				]),
			);
			const nodes = modelNodes(workflow.model);
			if (nodes.length > 0) {
				ctx.print();
				ctx.print(
					formatTable(
						["NODE", "PIPELINE", "APPLICATION", "ENVIRONMENT", "DEPENDS-ON"],
						nodes.map((n) => [n.name, n.pipeline, n.application, n.environment, n.dependsOn?.join(",")]),
					),
				);
			}
			return 0;
		},
	});
}
