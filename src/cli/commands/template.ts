// cds template list|show|add|remove|apply and cds template repo add|list|remove|refresh

import { resolve } from "node:path";
import { parseTemplateReference } from "../../templates/reference.ts";
import { UsageError } from "../errors.ts";
import { seg } from "../http.ts";
import { JSON_OPTION } from "../options.ts";
import type { CommandRegistry } from "../registry.ts";
import { formatFields, formatTable } from "../table.ts";
import {
	collectParameters,
	encryptSecrets,
	givenParams,
	type RenderedTemplateFile,
	type TemplateDetail,
	writeRenderedFiles,
} from "./new.ts";

interface TemplateSummary {
	repo: string;
	name: string;
	ref: string;
	description: string;
	url: string;
	origin: string;
}

interface RepoSummary {
	name: string;
	url: string | null;
	description: string;
	refreshed: string | null;
	templates?: number;
}

interface InstanceSummary {
	id: number;
	workflow: string;
	template: string;
	version: number;
	ref: string;
	params: Record<string, unknown>;
}

function reference(text: string) {
	try {
		return parseTemplateReference(text);
	} catch (e) {
		throw new UsageError((e as Error).message);
	}
}

export function register(registry: CommandRegistry): void {
	registry.addGroup({ path: ["template"], summary: "Workflow templates and template repositories" });
	registry.addGroup({ path: ["template", "repo"], summary: "Template repositories (namespaces)" });

	registry.add({
		path: ["template", "list"],
		summary: "List templates",
		options: {
			repo: { type: "string", valueName: "R", description: "only the templates of repository R" },
			json: JSON_OPTION,
		},
		async run(ctx) {
			const items = await (await ctx.client()).listAll<TemplateSummary>("/templates", {
				repo: ctx.values.repo as string | undefined,
			});
			if (ctx.values.json) ctx.printJson(items);
			else
				ctx.print(
					formatTable(
						["TEMPLATE", "DESCRIPTION"],
						items.map((t) => [t.ref, t.description]),
					),
				);
			return 0;
		},
	});

	registry.add({
		path: ["template", "show"],
		summary: "Show a template's parameters",
		args: "NAMESPACE/NAME[@VERSION]",
		positionals: { min: 1, max: 1 },
		options: { json: JSON_OPTION },
		async run(ctx) {
			const ref = reference(ctx.positionals[0]!);
			const t = await (await ctx.client()).get<TemplateDetail & { url: string | null }>(
				`/templates/${seg(ref.repo)}/${seg(ref.name)}`,
				{ version: ref.version },
			);
			if (ctx.values.json) {
				ctx.printJson(t);
				return 0;
			}
			ctx.print(
				formatFields([
					["template", t.ref],
					["description", t.description],
					["url", t.url],
				]),
			);
			ctx.print();
			ctx.print(
				formatTable(
					["PARAMETER", "TYPE", "REQUIRED"],
					t.parameters.map((p) => [p.key, p.type, p.required ? "yes" : "no"]),
				),
			);
			return 0;
		},
	});

	registry.add({
		path: ["template", "add"],
		summary: "Add one template (the URL of its manifest) to a repository",
		args: "REPO NAME URL",
		positionals: { min: 3, max: 3 },
		options: { description: { type: "string", valueName: "TEXT", description: "a description" } },
		async run(ctx) {
			const [repo, name, url] = ctx.positionals as [string, string, string];
			const t = await (await ctx.client()).post<TemplateSummary>(`/templates/repos/${seg(repo)}/templates`, {
				name,
				url,
				description: ctx.values.description as string | undefined,
			});
			ctx.print(`added template ${t.ref}`);
			return 0;
		},
	});

	registry.add({
		path: ["template", "remove"],
		summary: "Remove a template from its repository",
		args: "NAMESPACE/NAME",
		positionals: { min: 1, max: 1 },
		async run(ctx) {
			const ref = reference(ctx.positionals[0]!);
			await (await ctx.client()).delete(`/templates/repos/${seg(ref.repo)}/templates/${seg(ref.name)}`);
			ctx.print(`removed template ${ref.repo}/${ref.name}`);
			return 0;
		},
	});

	registry.add({
		path: ["template", "instances"],
		summary: "List the workflows of a project made from templates",
		args: "KEY",
		positionals: { min: 1, max: 1 },
		options: { json: JSON_OPTION },
		async run(ctx) {
			const items = await (await ctx.client()).listAll<InstanceSummary>(
				`/projects/${seg(ctx.positionals[0]!)}/templates/instances`,
			);
			if (ctx.values.json) ctx.printJson(items);
			else
				ctx.print(
					formatTable(
						["WORKFLOW", "TEMPLATE", "ID"],
						items.map((i) => [i.workflow, i.ref, i.id]),
					),
				);
			return 0;
		},
	});

	registry.add({
		path: ["template", "apply"],
		summary: "Render a workflow's template again and update the workflow",
		args: "KEY WORKFLOW [KEY=VALUE...]",
		positionals: { min: 2 },
		options: {
			version: { type: "string", valueName: "N", description: "the template version (default: the latest)" },
			param: {
				type: "string",
				valueName: "KEY=VALUE",
				description: "change a parameter (more as KEY=VALUE arguments)",
			},
			dir: {
				type: "string",
				valueName: "DIR",
				description: "as-code workflows: where the files are rewritten (default: .cds)",
			},
			json: JSON_OPTION,
		},
		details:
			"A workflow imported through the API is updated on the server. An as-code workflow is not: its files are rewritten in DIR for you to commit and push.",
		async run(ctx) {
			const [key, workflow, ...pairs] = ctx.positionals as [string, string, ...string[]];
			const version = ctx.values.version as string | undefined;
			if (version !== undefined && !/^[1-9][0-9]*$/.test(version))
				throw new UsageError(`invalid --version ${version}`);
			const client = await ctx.client();
			const instance = await client.get<InstanceSummary>(
				`/projects/${seg(key)}/templates/instances/${seg(workflow)}`,
			);
			const ref = reference(instance.template);
			const template = await client.get<TemplateDetail>(`/templates/${seg(ref.repo)}/${seg(ref.name)}`, {
				version: version === undefined ? undefined : Number(version),
			});
			const given = givenParams({ ...ctx, positionals: pairs });
			// Only the changed parameters are asked for; the others keep their recorded values.
			const changed = await collectParameters(
				template.parameters.map((p) => ({ ...p, required: false })),
				given,
				undefined,
			);
			const params = await encryptSecrets(client, key, template.parameters, changed);
			const result = await client.post<{
				instance: InstanceSummary;
				asCode: boolean;
				files: RenderedTemplateFile[];
			}>(`/projects/${seg(key)}/templates/instances/${seg(workflow)}/apply`, {
				version: version === undefined ? undefined : Number(version),
				params,
			});
			if (result.asCode) {
				const dir = resolve(ctx.io.cwd, (ctx.values.dir as string | undefined) ?? ".cds");
				const written = await writeRenderedFiles(dir, result.files, true);
				if (ctx.values.json) ctx.printJson({ ...result, written });
				else {
					ctx.print(
						`re-rendered ${result.instance.ref}; ${workflow} is as code, so its files were rewritten:`,
					);
					for (const path of written) ctx.print(`wrote ${path}`);
					ctx.print("next: commit and push them");
				}
			} else if (ctx.values.json) ctx.printJson(result);
			else ctx.print(`applied ${result.instance.ref} to workflow ${workflow} in ${key}`);
			return 0;
		},
	});

	registry.add({
		path: ["template", "repo", "add"],
		summary: "Register a template repository: an index URL, or none to add templates one by one",
		args: "NAME [URL]",
		positionals: { min: 1, max: 2 },
		options: {
			description: { type: "string", valueName: "TEXT", description: "a description" },
			json: JSON_OPTION,
		},
		async run(ctx) {
			const [name, url] = ctx.positionals as [string, string | undefined];
			const repo = await (await ctx.client()).post<RepoSummary>("/templates/repos", {
				name,
				url,
				description: ctx.values.description as string | undefined,
			});
			if (ctx.values.json) ctx.printJson(repo);
			else
				ctx.print(
					`added template repository ${repo.name}${url ? ` (${repo.templates ?? 0} templates)` : ""}`,
				);
			return 0;
		},
	});

	registry.add({
		path: ["template", "repo", "list"],
		summary: "List template repositories",
		options: { json: JSON_OPTION },
		async run(ctx) {
			const repos = await (await ctx.client()).listAll<RepoSummary>("/templates/repos");
			if (ctx.values.json) ctx.printJson(repos);
			else
				ctx.print(
					formatTable(
						["NAME", "URL", "REFRESHED"],
						repos.map((r) => [r.name, r.url, r.refreshed]),
					),
				);
			return 0;
		},
	});

	registry.add({
		path: ["template", "repo", "refresh"],
		summary: "Download a repository's index again",
		args: "NAME",
		positionals: { min: 1, max: 1 },
		async run(ctx) {
			const repo = await (await ctx.client()).post<RepoSummary>(
				`/templates/repos/${seg(ctx.positionals[0]!)}/refresh`,
				{},
			);
			ctx.print(`refreshed template repository ${repo.name} (${repo.templates ?? 0} templates)`);
			return 0;
		},
	});

	registry.add({
		path: ["template", "repo", "remove"],
		summary: "Remove a template repository",
		args: "NAME",
		positionals: { min: 1, max: 1 },
		async run(ctx) {
			await (await ctx.client()).delete(`/templates/repos/${seg(ctx.positionals[0]!)}`);
			ctx.print(`removed template repository ${ctx.positionals[0]}`);
			return 0;
		},
	});
}
