// A template with every file it needs: the manifest and the content of each file, either
// inline or downloaded relative to the manifest's URL. A bundle is what gets versioned
// (its hash tells whether a refreshed template changed) and what gets rendered.

import { createHash } from "node:crypto";
import { parseManifest, type TemplateFileKind, type TemplateManifest } from "./manifest.ts";

export interface TemplateSourceFile {
	kind: TemplateFileKind;
	/** Path relative to the manifest, or the manifest key for inline content. */
	path: string;
	content: string;
}

export interface TemplateBundle {
	manifest: TemplateManifest;
	sources: TemplateSourceFile[];
}

/** Resolves a manifest's relative path against the manifest URL. */
function resolveRelative(manifestUrl: string, path: string): string {
	return new URL(path, manifestUrl).href;
}

/** Parses the manifest at `manifestUrl` (already downloaded) and downloads its files with `fetchText`. */
export async function loadBundle(
	manifestUrl: string,
	manifestText: string,
	fetchText: (url: string) => Promise<string>,
): Promise<TemplateBundle> {
	const manifest = parseManifest(manifestUrl.split("/").pop() || "manifest.yml", manifestText);
	const sources: TemplateSourceFile[] = [];
	for (const ref of manifest.files) {
		const content = ref.inline ?? (await fetchText(resolveRelative(manifestUrl, ref.path)));
		sources.push({ kind: ref.kind, path: ref.path, content });
	}
	return { manifest, sources };
}

/** Builds a bundle from local files (tests, `cds template lint`-style uses): `read(path)` gives a file's text. */
export async function loadBundleFromFiles(
	manifestName: string,
	manifestText: string,
	read: (path: string) => Promise<string>,
): Promise<TemplateBundle> {
	const manifest = parseManifest(manifestName, manifestText);
	const sources: TemplateSourceFile[] = [];
	for (const ref of manifest.files)
		sources.push({ kind: ref.kind, path: ref.path, content: ref.inline ?? (await read(ref.path)) });
	return { manifest, sources };
}

/** A stable content hash: same manifest and files, same hash. */
export function bundleHash(bundle: TemplateBundle): string {
	return createHash("sha256")
		.update(JSON.stringify([bundle.manifest, bundle.sources]))
		.digest("hex");
}
