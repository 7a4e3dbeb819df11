// The helm binary of the Kubernetes deployment suites: CDS_HELM_BIN (exported by .ci/run), else
// the cache of test/tools/build-helm.sh. Missing: the Helm tests skip, except under CI=true.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
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
