/** What an action gets to run one step, and what it hands back. */

import type { JobSandbox } from "../../sandbox/launch.ts";
import type { ApiClient } from "../api-client.ts";
import type { StepLog } from "../step-log.ts";
import type { JobDirs } from "../workspace.ts";

export interface StepContext {
	index: number;
	dirs: JobDirs;
	/** The job variables now (exports of earlier steps included). */
	vars: Record<string, string>;
	api: ApiClient;
	log: StepLog;
	/** Aborted on stop, job timeout or step timeout; the reason says which. */
	signal: AbortSignal;
	/** SIGTERM → SIGKILL delay when the signal aborts a process. */
	graceMs: number;
	/** The environment for processes of this step. */
	env: Record<string, string>;
	/** Where the step's processes run (src/sandbox): every process of a step goes through it. */
	sandbox: JobSandbox;
	/** What plugins are handed (src/integrations/plugin-protocol.ts). */
	plugins?: {
		/** The Node and the repository root this worker runs from: built-in plugins run with them. */
		node: string;
		root: string;
		/** The job's secrets, listed in a plugin's query. */
		secrets: readonly string[];
		/** CDS_OUTBOUND_ALLOW of the server, for plugins that connect somewhere. */
		outboundAllow: readonly string[];
		/** The helm binary of the worker's host (CDS_HELM_BIN), "" for none. */
		helm?: string;
	};
}

export interface ActionResult {
	ok: boolean;
	exitCode?: number;
	reason?: string;
}

export class ActionError extends Error {}
