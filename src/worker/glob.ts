/**
 * Minimal glob support for artifact and report paths: `*`, `?`, `**`, `[abc]`, `{a,b}`.
 * Matches files only (not directories); results are sorted for a stable order.
 */

import { readdir, stat } from "node:fs/promises";
import { join, sep } from "node:path";

const GLOB_CHARS = /[*?[{]/;

function hasGlob(pattern: string): boolean {
	return GLOB_CHARS.test(pattern);
}

/** A RegExp matching a whole slash-separated path. */
function globToRegExp(glob: string): RegExp {
	let out = "";
	let braces = 0;
	for (let i = 0; i < glob.length; i++) {
		const c = glob[i]!;
		if (c === "*") {
			if (glob[i + 1] === "*") {
				const atSegmentStart = i === 0 || glob[i - 1] === "/";
				i++;
				if (atSegmentStart && glob[i + 1] === "/") {
					i++;
					out += "(?:[^/]*/)*";
				} else out += ".*";
			} else out += "[^/]*";
		} else if (c === "?") out += "[^/]";
		else if (c === "[") {
			const close = glob.indexOf("]", i + 2);
			if (close < 0) out += "\\[";
			else {
				let body = glob.slice(i + 1, close);
				const negate = body.startsWith("!") || body.startsWith("^");
				if (negate) body = body.slice(1);
				out += `[${negate ? "^" : ""}${body.replace(/[\\\]]/g, "\\$&")}]`;
				i = close;
			}
		} else if (c === "{") {
			braces++;
			out += "(?:";
		} else if (c === "}" && braces > 0) {
			braces--;
			out += ")";
		} else if (c === "," && braces > 0) out += "|";
		else out += c.replace(/[.+^$()|\\]/g, "\\$&").replace(/[{}]/g, "\\$&");
	}
	return new RegExp(`^${out}${")".repeat(braces)}$`);
}

async function isFile(path: string): Promise<boolean> {
	try {
		return (await stat(path)).isFile();
	} catch {
		return false;
	}
}

/**
 * Files matching an absolute glob `pattern`. The walk starts at the longest directory
 * prefix free of glob characters; symlinked directories are not followed.
 */
export async function expandGlob(pattern: string): Promise<string[]> {
	if (!hasGlob(pattern)) return (await isFile(pattern)) ? [pattern] : [];
	const segments = pattern.split(sep);
	const firstGlob = segments.findIndex((s) => hasGlob(s));
	const start = segments.slice(0, firstGlob).join(sep) || sep;
	const regexp = globToRegExp(pattern);
	const recursive = pattern.includes("**");
	const maxDepth = recursive ? Number.POSITIVE_INFINITY : segments.length - firstGlob;
	const found: string[] = [];
	async function walk(dir: string, depth: number): Promise<void> {
		let entries: import("node:fs").Dirent[];
		try {
			entries = await readdir(dir, { withFileTypes: true });
		} catch {
			return;
		}
		for (const entry of entries) {
			const path = join(dir, entry.name);
			if (entry.isDirectory()) {
				if (depth + 1 < maxDepth) await walk(path, depth + 1);
			} else if ((entry.isFile() || (entry.isSymbolicLink() && (await isFile(path)))) && regexp.test(path)) {
				found.push(path);
			}
		}
	}
	await walk(start, 0);
	return found.sort();
}

/** Whether a bare name (no directories) matches a glob. */
export function matchesName(name: string, glob: string): boolean {
	return globToRegExp(glob).test(name);
}
