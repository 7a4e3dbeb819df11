// Writes the files of `cds workflow export -o DIR`. The names come from the server, so
// each one is checked to land inside DIR before anything is written.

import { lstat, mkdir, realpath, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { CliFailure } from "./errors.ts";

export interface ExportedFile {
	path: string;
	content: string;
}

function isInside(root: string, target: string): boolean {
	const rel = relative(root, target);
	return rel !== "" && rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** The absolute target of each file; throws if any name would escape `dir`. */
export function exportTargets(dir: string, files: readonly ExportedFile[]): string[] {
	const root = resolve(dir);
	return files.map((file) => {
		const name = file.path;
		const unsafe =
			typeof name !== "string" ||
			name === "" ||
			name.includes("\0") ||
			isAbsolute(name) ||
			/^[a-zA-Z]:/.test(name) ||
			!isInside(root, resolve(root, name));
		if (unsafe) throw new CliFailure(`refusing to write outside ${dir}: ${JSON.stringify(name)}`);
		return resolve(root, name);
	});
}

/** Writes the files into `dir` (created if needed) and returns the paths written. */
export async function writeExportFiles(dir: string, files: readonly ExportedFile[]): Promise<string[]> {
	const targets = exportTargets(dir, files);
	await mkdir(dir, { recursive: true });
	const realRoot = await realpath(dir);
	for (const [i, target] of targets.entries()) {
		await mkdir(dirname(target), { recursive: true });
		// A symlink already inside DIR could still point elsewhere: check where we really land.
		const realParent = await realpath(dirname(target));
		const existing = await lstat(target).catch(() => undefined);
		if ((realParent !== realRoot && !isInside(realRoot, realParent)) || existing?.isSymbolicLink()) {
			throw new CliFailure(`refusing to write outside ${dir}: ${JSON.stringify(files[i]!.path)}`);
		}
		await writeFile(target, files[i]!.content);
	}
	return targets;
}
