// Usage texts, generated from the registry so help can never drift from what parses.

import type { CommandRegistry, CommandSpec, GroupSpec, OptionSpec } from "./registry.ts";

const HELP_OPTION: OptionSpec = { type: "boolean", short: "h", description: "show this help" };

function columns(rows: Array<[string, string]>): string[] {
	const width = Math.max(...rows.map(([left]) => left.length));
	return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`.trimEnd());
}

function optionLabel(name: string, spec: OptionSpec): string {
	const flag = spec.short ? `-${spec.short}, --${name}` : `    --${name}`;
	if (spec.type === "boolean") return flag;
	const value = spec.valueName ?? (spec.choices ? spec.choices.join("|") : "VALUE");
	return `${flag} ${value}`;
}

function commandUsageLine(command: CommandSpec): string {
	const parts = ["cds", ...command.path];
	for (const [name, spec] of Object.entries(command.options ?? {})) {
		if (!spec.required) continue;
		parts.push(spec.type === "boolean" ? `--${name}` : `--${name} ${spec.valueName ?? "VALUE"}`);
	}
	if (command.args) parts.push(command.args);
	parts.push("[options]");
	return parts.join(" ");
}

export function commandHelp(command: CommandSpec): string {
	const options = { ...command.options, help: HELP_OPTION };
	const lines = [
		`Usage: ${commandUsageLine(command)}`,
		"",
		command.summary,
		"",
		"Options:",
		...columns(
			Object.entries(options).map(([name, spec]) => [
				optionLabel(name, spec),
				spec.required ? `${spec.description} (required)` : spec.description,
			]),
		),
	];
	if (command.details) lines.push("", command.details.trimEnd());
	return `${lines.join("\n")}\n`;
}

export function groupHelp(registry: CommandRegistry, group: GroupSpec): string {
	const { groups, commands } = registry.children(group);
	const name = ["cds", ...group.path].join(" ");
	const rows: Array<[string, string]> = [
		...groups.map((g): [string, string] => [`${g.path.at(-1)} <command>`, g.summary]),
		...commands.map((c): [string, string] => [[c.path.at(-1), c.args].filter(Boolean).join(" "), c.summary]),
	];
	const lines = [`Usage: ${name} <command> [options]`, "", group.summary, "", "Commands:", ...columns(rows)];
	lines.push("", `Run "${name} <command> --help" for the options of a command.`);
	return `${lines.join("\n")}\n`;
}
