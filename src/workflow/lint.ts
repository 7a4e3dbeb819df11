import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import type { Diagnostic } from "./diagnostics.ts";
import { type FileReport, type InputFile, parseFileSet } from "./file-set.ts";
import type { FileSetModel, ProjectContext } from "./model.ts";
import { MAX_FILE_BYTES } from "./source.ts";

export interface LintReport {
	files: FileReport[];
	/** Present when the whole set is valid. */
	model?: FileSetModel;
	errors: Diagnostic[];
	warnings: Diagnostic[];
}

/**
 * Offline check behind `cds workflow lint PATH…`. Each directory is one file set (its direct
 * files, as `cdsctl workflow push` takes a `.cds/` directory); the files named on the
 * command line form one more set together.
 */
export async function lintPaths(paths: readonly string[], ctx: ProjectContext = {}): Promise<LintReport> {
	const report: LintReport = { files: [], errors: [], warnings: [] };
	const loose: InputFile[] = [];
	const sets: InputFile[][] = [];
	const unreadable = (file: string, message: string): void => {
		const d: Diagnostic = { file, line: 1, column: 1, message, code: "unreadable-file", severity: "error" };
		report.files.push({ path: file, kind: "ignored", status: "rejected", diagnostics: [d] });
		report.errors.push(d);
	};
	const load = async (file: string): Promise<InputFile | undefined> => {
		try {
			const info = await stat(file);
			// A single over-sized file is reported by the parser without reading all of it.
			if (info.size > MAX_FILE_BYTES) return { path: file, content: "x".repeat(MAX_FILE_BYTES + 1) };
			return { path: file, content: await readFile(file, "utf8") };
		} catch (error) {
			unreadable(
				file,
				`cannot read file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
			);
			return undefined;
		}
	};
	for (const p of paths) {
		let isDirectory = false;
		try {
			isDirectory = (await stat(p)).isDirectory();
		} catch (error) {
			unreadable(p, `cannot read path: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
			continue;
		}
		if (!isDirectory) {
			const file = await load(p);
			if (file) loose.push(file);
			continue;
		}
		// A directory is a file set; each subdirectory (a repository's several `.cds/` sets,
		// or a corpus of examples) is linted as its own set.
		const walk = async (dir: string, depth: number) => {
			const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
				a.name.localeCompare(b.name),
			);
			const set: InputFile[] = [];
			for (const e of entries) {
				if (!e.isFile()) continue;
				const file = await load(path.join(dir, e.name));
				if (file) set.push(file);
			}
			if (set.length > 0) sets.push(set);
			if (depth >= 8) return;
			for (const e of entries) {
				if (e.isDirectory() && !e.name.startsWith(".") && e.name !== "node_modules")
					await walk(path.join(dir, e.name), depth + 1);
			}
		};
		await walk(p, 0);
	}
	if (loose.length > 0) sets.push(loose);
	const models: FileSetModel[] = [];
	for (const set of sets) {
		const result = parseFileSet(set, ctx);
		report.files.push(...result.files);
		report.errors.push(...result.errors);
		report.warnings.push(...result.warnings);
		models.push(result.model);
	}
	if (report.errors.length === 0) report.model = mergeModels(models);
	return report;
}

function mergeModels(models: FileSetModel[]): FileSetModel {
	const byName = (a: { name: string }, b: { name: string }) =>
		a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
	const uniq = (names: string[]) => [...new Set(names)].sort();
	return {
		workflows: models.flatMap((m) => m.workflows).sort(byName),
		pipelines: models.flatMap((m) => m.pipelines).sort(byName),
		applications: models.flatMap((m) => m.applications).sort(byName),
		environments: models.flatMap((m) => m.environments).sort(byName),
		missing: {
			applications: uniq(models.flatMap((m) => m.missing.applications)),
			environments: uniq(models.flatMap((m) => m.missing.environments)),
		},
		integrationModels: models.flatMap((m) => m.integrationModels ?? []).sort(byName),
		integrations: models.flatMap((m) => m.integrations ?? []).sort(byName),
		plugins: models.flatMap((m) => m.plugins ?? []).sort(byName),
		pluginBinaries: models.flatMap((m) => m.pluginBinaries ?? []),
	};
}
