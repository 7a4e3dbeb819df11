// Debian's chromium driven by playwright-core through its executable path (no browser download).
// CDS_CHROMIUM names it (.ci/run's start_chromium sets it); as root, Chromium's own sandbox needs
// user namespaces it may not get here, so it runs with --no-sandbox only then.

import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM = process.env.CDS_CHROMIUM ?? "/usr/bin/chromium";

/** Why the suite cannot run here, or undefined. In CI a missing browser is a failure, not a skip. */
export function chromiumMissing(): string | undefined {
	if (existsSync(CHROMIUM)) return undefined;
	if (process.env.CI)
		throw new Error(`no Chromium at ${CHROMIUM}: .ci/run's browser phase installs Debian's chromium`);
	return `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CDS_CHROMIUM)`;
}

export function launchChromium(): Promise<Browser> {
	return chromium.launch({
		executablePath: CHROMIUM,
		args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
	});
}

/** Where screenshots go: $CDS_ARTIFACTS_DIR/screenshots (CI artifacts), else test-results/screenshots. */
export function screenshotDir(): string {
	const dir = process.env.CDS_ARTIFACTS_DIR
		? path.join(process.env.CDS_ARTIFACTS_DIR, "screenshots")
		: path.resolve(import.meta.dirname, "..", "..", "test-results", "screenshots");
	mkdirSync(dir, { recursive: true });
	return dir;
}
