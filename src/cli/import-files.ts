// Collects the files `cds workflow import` uploads: the given files, and every
// *.yml/*.yaml/*.json below the given directories, each at most 1 MiB of UTF-8 text.

import { readdir, readFile, realpath, stat } from "node:fs/promises";
import { basename, extname, join, relative, resolve, sep } from "node:path";
import { ValidationError } from "./errors.ts";

export const MAX_IMPORT_FILE_BYTES = 1024 * 1024;
const IMPORTABLE = new Set([".yml", ".yaml", ".json"]);
/** Directories never worth uploading (VCS metadata, dependencies). */
const SKIPPED_DIRS = new Set([".git", "node_modules"]);

export interface ImportFile {
	/** Path relative to the directory given on the command line (or the file's name), with / separators. */
	path: string;
	content: string;
}

function isImportable(name: string): boolean {
	return IMPORTABLE.has(extname(name).toLowerCase());
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

async function readImportFile(absolute: string, shown: string): Promise<string> {
	const info = await stat(absolute);
	if (info.size > MAX_IMPORT_FILE_BYTES) {
		throw new ValidationError(`${shown}: file is larger than 1 MiB (${info.size} bytes)`);
	}
	try {
		return utf8.decode(await readFile(absolute));
	} catch {
		throw new ValidationError(`${shown}: not UTF-8 text`);
	}
}

async function walk(
	root: string,
	dir: string,
	visited: Set<string>,
	out: Array<[string, string]>,
): Promise<void> {
	// Symlinked directories are followed, but each real directory only once (no cycles).
	const real = await realpath(dir);
	if (visited.has(real)) return;
	visited.add(real);
	const entries = await readdir(dir, { withFileTypes: true });
	entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
	for (const entry of entries) {
		const absolute = join(dir, entry.name);
		const kind = entry.isSymbolicLink() ? await stat(absolute).catch(() => undefined) : entry;
		if (!kind) continue; // dangling link
		if (kind.isDirectory()) {
			if (!SKIPPED_DIRS.has(entry.name)) await walk(root, absolute, visited, out);
		} else if (kind.isFile() && isImportable(entry.name)) {
			out.push([absolute, relative(root, absolute).split(sep).join("/")]);
		}
	}
}

/** Reads every importable file under `paths` (resolved against cwd), failing on any bad input. */
export async function collectImportFiles(paths: readonly string[], cwd: string): Promise<ImportFile[]> {
	const found: Array<[absolute: string, path: string, shown: string]> = [];
	for (const given of paths) {
		const absolute = resolve(cwd, given);
		const info = await stat(absolute).catch(() => undefined);
		if (!info) throw new ValidationError(`${given}: no such file or directory`);
		if (info.isDirectory()) {
			const inDir: Array<[string, string]> = [];
			await walk(absolute, absolute, new Set(), inDir);
			if (inDir.length === 0) throw new ValidationError(`${given}: no .yml, .yaml or .json file found`);
			for (const [file, path] of inDir) found.push([file, path, join(given, path)]);
		} else if (info.isFile()) {
			if (!isImportable(given))
				throw new ValidationError(`${given}: only .yml, .yaml and .json files can be imported`);
			found.push([absolute, basename(absolute), given]);
		} else {
			throw new ValidationError(`${given}: not a regular file or directory`);
		}
	}
	const byPath = new Map<string, string>();
	for (const [, path, shown] of found) {
		const earlier = byPath.get(path);
		if (earlier !== undefined) {
			throw new ValidationError(`${shown} and ${earlier} would both be imported as "${path}"`);
		}
		byPath.set(path, shown);
	}
	const files: ImportFile[] = [];
	for (const [absolute, path, shown] of found)
		files.push({ path, content: await readImportFile(absolute, shown) });
	return files;
}
