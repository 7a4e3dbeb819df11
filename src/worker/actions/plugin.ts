/**
 * Plugin steps: an installed action plugin (`plugin: {name: X}` or CDS's `- X:` step naming an
 * installed plugin) and the built-in `DeployApplication` (`deploy:`), which runs the deployment
 * plugin of the node's integration. Every plugin is a process started in the step's sandbox
 * with the plugin query on stdin (src/integrations/plugin-protocol.ts); an installed plugin's
 * binary is fetched from the API with the job's token, checked against its checksum, and
 * placed beside the `worker` command (read-only in the sandbox).
 */

import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { chmod, mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { DEPLOYMENT_VARIABLE } from "../../integrations/deploy-plugin.ts";
import { goPlatform, pluginInvocation, PLUGIN_NAME_PATTERN } from "../../integrations/plugin-manifest.ts";
import { PLUGIN_PROTOCOL, pluginQuery } from "../../integrations/plugin-protocol.ts";
import type { JsonValue } from "../../workflow/model.ts";
import { isTransient } from "../api-client.ts";
import { retry } from "../backoff.ts";
import { runProcess } from "../process-runner.ts";
import { TRANSFER_DEADLINE_MS } from "../transfer.ts";
import { ActionError, type ActionResult, type StepContext } from "./context.ts";
import { processOutcome } from "./outcome.ts";

const QUERY_VARIABLE = "CDS_PLUGIN_QUERY";

/** Runs `command args…` in the sandbox with `query` on its stdin; its output is the step's log. */
async function runPluginProcess(
	what: string,
	invocation: { command: string; args: string[] },
	query: unknown,
	ctx: StepContext,
): Promise<ActionResult> {
	// The query holds the job's variables, secrets included: like a script, it lives in the
	// sandbox's memory only, and reaches the plugin on its stdin.
	const name = `plugin-${ctx.index}.json`;
	const result = await runProcess({
		command: "bash",
		args: ["-c", `exec "$@" < "$${QUERY_VARIABLE}" 2>&1`, "plugin", invocation.command, ...invocation.args],
		files: [{ name, content: JSON.stringify(query), mode: 0o600 }],
		sandbox: ctx.sandbox,
		cwd: ctx.dirs.workspace,
		env: { ...ctx.env, [QUERY_VARIABLE]: ctx.sandbox.filePath(name), CDS_PLUGIN_PROTOCOL: PLUGIN_PROTOCOL },
		onOutput: (chunk) => ctx.log.write(chunk),
		signal: ctx.signal,
		graceMs: ctx.graceMs,
	});
	return processOutcome(result, what);
}

function queryOf(ctx: StepContext, plugin: { name: string; type: string }, params: JsonValue | undefined) {
	return pluginQuery({
		plugin,
		vars: ctx.vars,
		params,
		secrets: ctx.plugins?.secrets ?? [],
		outboundAllow: ctx.plugins?.outboundAllow ?? [],
		helm: ctx.plugins?.helm ?? "",
	});
}

/** Fetches an installed plugin's binary for this worker's platform into the job's bin directory. */
async function installPlugin(name: string, ctx: StepContext) {
	if (!PLUGIN_NAME_PATTERN.test(name)) throw new ActionError(`invalid plugin name '${name}'`);
	const { api } = ctx;
	if (!api.getPlugin || !api.getPluginBinary) throw new ActionError("this API client cannot fetch plugins");
	const { os, arch } = goPlatform(process.platform, process.arch);
	const plugin = await retry(() => api.getPlugin!(name, os, arch), {
		deadlineMs: TRANSFER_DEADLINE_MS,
		isRetryable: isTransient,
	});
	const file = plugin.binary.file;
	const dir = join(ctx.dirs.bin, "plugins", name);
	if (file) {
		await mkdir(dir, { recursive: true, mode: 0o755 });
		await chmod(join(ctx.dirs.bin, "plugins"), 0o755);
		const target = join(dir, file.name);
		const partial = `${target}.part`;
		await retry(
			async () => {
				const body = await api.getPluginBinary!(name, os, arch);
				try {
					await pipeline(body, createWriteStream(partial, { mode: 0o755 }));
				} catch (err) {
					await rm(partial, { force: true });
					throw err;
				}
			},
			{ deadlineMs: TRANSFER_DEADLINE_MS, isRetryable: isTransient },
		);
		const hash = createHash("sha256");
		await pipeline(createReadStream(partial), hash);
		const sha256 = hash.digest("hex");
		if (sha256 !== file.sha256) {
			await rm(partial, { force: true });
			throw new ActionError(`plugin ${name}: the binary received does not match its checksum`);
		}
		await rename(partial, target);
		await chmod(target, 0o755);
	}
	const invocation = pluginInvocation(plugin.binary, `${ctx.sandbox.binPath}/plugins/${name}`);
	return { plugin, invocation };
}

/** A step naming an installed plugin. */
export async function runInstalledPlugin(
	name: string,
	params: JsonValue | undefined,
	ctx: StepContext,
): Promise<ActionResult> {
	const { plugin, invocation } = await installPlugin(name, ctx);
	ctx.log.line(`running plugin ${plugin.name}`);
	return runPluginProcess(`plugin ${plugin.name}`, invocation, queryOf(ctx, plugin, params), ctx);
}

/** `DeployApplication`: the deployment plugin of the node's integration, with the application's settings for it. */
export async function runDeployApplication(
	params: JsonValue | undefined,
	ctx: StepContext,
): Promise<ActionResult> {
	const integration = ctx.vars[DEPLOYMENT_VARIABLE];
	if (!integration)
		throw new ActionError(
			"DeployApplication: the node names no deployment integration (`integration:` on the node, of a model with deployment: true)",
		);
	if (!ctx.api.getDeployment) throw new ActionError("this API client cannot ask for deployment plugins");
	const deployment = await retry(() => ctx.api.getDeployment!(), {
		deadlineMs: TRANSFER_DEADLINE_MS,
		isRetryable: isTransient,
	});
	const chosen = deployment.plugin;
	ctx.log.line(
		`deploying ${ctx.vars["cds.application"] ?? "the application"} on ${deployment.integration} (${deployment.model}) with plugin ${chosen.name}`,
	);
	if (chosen.kind === "installed") {
		const { plugin, invocation } = await installPlugin(chosen.name, ctx);
		return runPluginProcess(
			`deployment plugin ${plugin.name}`,
			invocation,
			queryOf(ctx, plugin, params),
			ctx,
		);
	}
	if (!ctx.plugins) throw new ActionError("this worker cannot run built-in plugins");
	const invocation = { command: ctx.plugins.node, args: [join(ctx.plugins.root, chosen.entry)] };
	const plugin = { name: chosen.name, type: "integration-deploy_application" };
	return runPluginProcess(`deployment plugin ${chosen.name}`, invocation, queryOf(ctx, plugin, params), ctx);
}
