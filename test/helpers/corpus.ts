// Where the CDS corpus (OVH CDS's own as-code files and templates) is: `CDS_CORPUS`, or
// `../shared/cds-corpus` beside the repository. Suites that need it are skipped with a reason
// when it is absent; under CI=true that is a failure, as a missing server is (helpers/servers.ts).
import { existsSync } from "node:fs";
import path from "node:path";

const REPO_ROOT = path.resolve(import.meta.dirname, "..", "..");

function locate(
	variable = "CDS_CORPUS",
	dir = "cds-corpus",
	what = "the CDS corpus",
): { root: string; skip: false } | { root: undefined; skip: string } {
	const fromEnv = process.env[variable];
	const root = fromEnv ? path.resolve(fromEnv) : path.resolve(REPO_ROOT, "..", "shared", dir);
	if (existsSync(root)) return { root, skip: false };
	const why = fromEnv
		? `${variable}=${fromEnv} does not exist`
		: `${what} is not at ${root} (set ${variable} to its directory)`;
	if (process.env.CI === "true") throw new Error(`${why}, and CI=true: the corpus suites must run in CI`);
	return { root: undefined, skip: why };
}

/** `skip` is the reason to skip a corpus suite, or false when the corpus is there. */
export const corpus = locate();

/** CDS's own integration models and plugin manifests: `CDS_INTEGRATIONS`, or `../shared/cds-integrations`. */
export const cdsIntegrations = locate("CDS_INTEGRATIONS", "cds-integrations", "CDS's integration files");

/** A path inside the corpus; only call it from a suite skipped with `corpus.skip`. */
export function corpusPath(...parts: string[]): string {
	if (corpus.root === undefined) throw new Error(corpus.skip);
	return path.join(corpus.root, ...parts);
}
