// cds report: the reports of a workflow run with their deltas and gates, from the server;
// `cds report parse FILE...` reads report files offline (no server needed).
// One command rather than a group, so that `cds report --run N` works without a verb.

import type { ReportView } from "../../quality/format.ts";
import { REPORT_FORMATS, type ReportFormat } from "../../reports/model.ts";
import { UsageError, ValidationError } from "../errors.ts";
import { seg } from "../http.ts";
import { JSON_OPTION } from "../options.ts";
import type { CommandContext, CommandRegistry } from "../registry.ts";

/** Exit code when a quality gate of the run failed (the reports are printed all the same). */
const EXIT_GATE_FAILED = 1;

interface LatestReports {
	runNumber: number;
	branch: string;
	defaultBranch?: string;
	items: ReportView[];
	next?: string | null;
}

/** Colours only on a terminal, and never when NO_COLOR is set. */
function wantsColor(ctx: CommandContext): boolean {
	return (ctx.io.stdout as { isTTY?: boolean }).isTTY === true && !ctx.io.env.NO_COLOR;
}

async function runParse(ctx: CommandContext, files: string[]): Promise<number> {
	if (files.length === 0) throw new UsageError("missing argument: expected parse FILE...");
	const { parseReportFile, formatReportText, ReportParseError } = await import("../../reports/index.ts");
	const format = ctx.values.format as ReportFormat | undefined;
	const { resolve } = await import("node:path");
	const reports: unknown[] = [];
	const errors: string[] = [];
	for (const file of files) {
		try {
			const report = await parseReportFile(resolve(ctx.io.cwd, file), { format });
			// Show the path as the user typed it, not the resolved one.
			report.file = file;
			reports.push(report);
			if (!ctx.values.json) ctx.print(formatReportText(report));
		} catch (e) {
			if (!(e instanceof ReportParseError)) throw e;
			errors.push(e.message.replace(resolve(ctx.io.cwd, file), file));
		}
	}
	if (ctx.values.json) ctx.printJson(files.length === 1 ? (reports[0] ?? null) : reports);
	if (errors.length > 0) {
		throw new ValidationError(
			errors.length === 1 ? "cannot read the report" : `cannot read ${errors.length} reports`,
			errors,
		);
	}
	return 0;
}

async function runShow(ctx: CommandContext): Promise<number> {
	const project = (ctx.values.project as string | undefined) ?? ctx.io.env.CDS_PROJECT;
	const workflow = (ctx.values.workflow as string | undefined) ?? ctx.io.env.CDS_WORKFLOW;
	if (!project) throw new UsageError("missing --project (or CDS_PROJECT)");
	if (!workflow) throw new UsageError("missing --workflow (or CDS_WORKFLOW)");
	const runText = ctx.values.run as string | undefined;
	if (runText !== undefined && !/^[1-9]\d*$/.test(runText))
		throw new UsageError(`invalid --run "${runText}": expected a run number`);
	const client = await ctx.client();
	const base = `/projects/${seg(project)}/workflows/${seg(workflow)}`;
	let result: LatestReports;
	if (runText !== undefined) {
		const items = await client.listAll<ReportView & { defaultBranch?: string }>(
			`${base}/runs/${runText}/reports`,
		);
		result = {
			runNumber: Number(runText),
			branch: items[0]?.branch ?? "?",
			defaultBranch: items[0]?.defaultBranch,
			items,
		};
	} else {
		result = await client.get<LatestReports>(`${base}/reports`, {
			branch: ctx.values.branch as string | undefined,
		});
		// More reports than a page: all of them from the run's own listing.
		if (result.next)
			result = {
				...result,
				items: await client.listAll<ReportView>(`${base}/runs/${result.runNumber}/reports`),
			};
	}
	// A failed gate fails the command, so that a script or a CI step can stop on it.
	const code = result.items.some((view) => view.gate?.passed === false) ? EXIT_GATE_FAILED : 0;
	if (ctx.values.json) {
		ctx.printJson(result);
		return code;
	}
	if (result.items.length === 0) {
		ctx.print(`run #${result.runNumber} of ${project}/${workflow} has no reports`);
		return 0;
	}
	const { formatRunReports } = await import("../../quality/format.ts");
	ctx.print(formatRunReports(result, result.items, { color: wantsColor(ctx) }));
	return code;
}

export function register(registry: CommandRegistry): void {
	registry.add({
		path: ["report"],
		summary: "Show a run's test, coverage, analysis and security reports with deltas; parse report files",
		args: "[parse FILE...]",
		positionals: { min: 0 },
		options: {
			project: {
				type: "string",
				short: "p",
				valueName: "KEY",
				description: "project key (default $CDS_PROJECT)",
			},
			workflow: {
				type: "string",
				short: "w",
				valueName: "NAME",
				description: "workflow (default $CDS_WORKFLOW)",
			},
			run: {
				type: "string",
				valueName: "N",
				description: "run number (default: the latest run with reports)",
			},
			branch: { type: "string", valueName: "B", description: "latest run on this branch (without --run)" },
			format: {
				type: "string",
				valueName: "F",
				choices: REPORT_FORMATS,
				description: "parse: the files' format (detected when absent)",
			},
			json: JSON_OPTION,
		},
		details: [
			"cds report --project K --workflow W [--run N]   summary of a run's reports: deltas against the",
			"    previous run on the branch and the default branch (▲ ▼), and each quality gate.",
			"cds report parse FILE... [--format F] [--json]   parse report files offline and print the normalised",
			"    report (--json: the object for one file, an array for several). Exits with 2 when a file cannot be read.",
			"Exit codes: 0 every gate passed (or no reports), 1 a gate failed (reports still printed, with --json too)",
			"    or the server could not answer, 2 usage error or unreadable file.",
		].join("\n"),
		run(ctx) {
			const [verb, ...rest] = ctx.positionals;
			if (verb === undefined) return runShow(ctx);
			if (verb === "parse") return runParse(ctx, rest);
			throw new UsageError(`unknown argument "${verb}": expected parse FILE... or no argument`);
		},
	});
}
