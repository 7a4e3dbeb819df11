// cds project create|list|show|delete

import { seg } from "../http.ts";
import { JSON_OPTION } from "../options.ts";
import type { CommandRegistry } from "../registry.ts";
import { formatFields, formatTable } from "../table.ts";

export interface Project {
	key: string;
	name: string;
	created: string;
	updated: string;
}

export function register(registry: CommandRegistry): void {
	registry.addGroup({ path: ["project"], summary: "Manage projects" });

	registry.add({
		path: ["project", "create"],
		summary: "Create a project",
		args: "KEY NAME",
		positionals: { min: 2, max: 2 },
		options: { json: JSON_OPTION },
		async run(ctx) {
			const [key, name] = ctx.positionals as [string, string];
			const project = await (await ctx.client()).post<Project>("/projects", { key, name });
			if (ctx.values.json) ctx.printJson(project);
			else ctx.print(`created project ${project.key} (${project.name})`);
			return 0;
		},
	});

	registry.add({
		path: ["project", "list"],
		summary: "List projects",
		options: { json: JSON_OPTION },
		async run(ctx) {
			const projects = await (await ctx.client()).listAll<Project>("/projects");
			if (ctx.values.json) ctx.printJson(projects);
			else
				ctx.print(
					formatTable(
						["KEY", "NAME", "CREATED"],
						projects.map((p) => [p.key, p.name, p.created]),
					),
				);
			return 0;
		},
	});

	registry.add({
		path: ["project", "show"],
		summary: "Show a project",
		args: "KEY",
		positionals: { min: 1, max: 1 },
		options: { json: JSON_OPTION },
		async run(ctx) {
			const p = await (await ctx.client()).get<Project>(`/projects/${seg(ctx.positionals[0]!)}`);
			if (ctx.values.json) ctx.printJson(p);
			else {
				ctx.print(
					formatFields([
						["key", p.key],
						["name", p.name],
						["created", p.created],
						["updated", p.updated],
					]),
				);
			}
			return 0;
		},
	});

	registry.add({
		path: ["project", "delete"],
		summary: "Delete a project",
		args: "KEY",
		positionals: { min: 1, max: 1 },
		async run(ctx) {
			const key = ctx.positionals[0]!;
			await (await ctx.client()).delete(`/projects/${seg(key)}`);
			ctx.print(`deleted project ${key}`);
			return 0;
		},
	});
}
