// The helm binary of the Kubernetes deployment suites: CDS_HELM_BIN (exported by .ci/run), else
// the cache of test/tools/build-helm.sh. Missing: the Helm tests skip, except under CI=true.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

export const HELM =
	process.env.CDS_HELM_BIN ||
	path.join(
		process.env.CDS_CI_CACHE ?? path.join(process.env.HOME ?? "/root", ".cache/cds-ts"),
		"helm-v4.3.2/helm",
	);

export const helmSkip: false | string = existsSync(HELM)
	? false
	: process.env.CI === "true"
		? assert.fail(`CI=true but no helm at ${HELM}: .ci/run builds it (test/tools/build-helm.sh)`)
		: `no helm at ${HELM} (bash test/tools/build-helm.sh)`;

export const CHART = path.resolve(import.meta.dirname, "../fixtures/kube-deploy/chart");

/**
 * The chart packaged (`.tgz`, as `helm package` makes it) and served over HTTP on this host's
 * loopback: a deployment names it by URL (helm_chart), which the worker downloads through the
 * outbound policy — so its host must be in CDS_OUTBOUND_ALLOW.
 */
export async function serveChart(): Promise<{ url: string; host: string; close(): void }> {
	const tgz = execFileSync("tar", ["-czf", "-", "-C", path.dirname(CHART), path.basename(CHART)]);
	const server = createServer((req, res) => {
		if (req.url === "/tiny-0.1.0.tgz") res.writeHead(200, { "content-type": "application/gzip" }).end(tgz);
		else res.writeHead(404).end();
	});
	await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
	const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
	return { url: `http://${host}/tiny-0.1.0.tgz`, host, close: () => server.close() };
}
