// The generic "deploy webhook" deployment plugin: a deployment is one HTTP POST to the
// integration's `url` of its `payload` setting (variables already interpolated) or, without
// one, of a JSON document describing what to deploy, with its `token` as a bearer
// token and, when a `secret` is set, an HMAC-SHA256 of the body (`X-CDS-Signature:
// sha256=<hex>`) so the receiver can check the sender. A 2xx answer is a success; anything
// else fails the step with the status. It runs in the job's sandbox (bin/cds-deploy-webhook.ts)
// and connects only through the outbound policy: no internal address unless allowed, no
// redirect followed.

import { createHmac } from "node:crypto";
import { DEPLOYMENT_VARIABLE, type DeploymentOutcome, type DeploymentPlugin } from "./deploy-plugin.ts";
import type { PluginQuery } from "./plugin-protocol.ts";

/** The integration model this plugin serves (built in, see the model catalogue). */
export const DEPLOY_WEBHOOK_MODEL = "DeployWebhook";
/** Settings that configure the call itself, never sent in the body. */
const CALL_SETTINGS = new Set(["url", "token", "secret", "timeout", "payload"]);
const DEFAULT_TIMEOUT_SECONDS = 30;

export interface WebhookRequest {
	url: string;
	headers: Record<string, string>;
	body: string;
	timeoutMs: number;
}

/** The request a deployment sends, from the query's options; throws when `url` is missing. */
export function webhookRequest(query: PluginQuery): WebhookRequest {
	const o = query.options;
	const passwords = new Set(query.secrets);
	const setting = (key: string) => o[`${DEPLOYMENT_VARIABLE}.${key}`] ?? "";
	const url = setting("url");
	if (!url) throw new Error(`the integration has no 'url' setting (${DEPLOYMENT_VARIABLE}.url)`);
	const settings: Record<string, string> = {};
	const prefix = `${DEPLOYMENT_VARIABLE}.`;
	for (const [name, value] of Object.entries(o)) {
		if (!name.startsWith(prefix)) continue;
		const key = name.slice(prefix.length);
		// Never a secret in the body: the receiver gets the token in its header only.
		if (CALL_SETTINGS.has(key) || passwords.has(value)) continue;
		settings[key] = value;
	}
	const payload = setting("payload");
	const body = payload.trim()
		? payload
		: JSON.stringify({
				project: o["cds.project"] ?? "",
				workflow: o["cds.workflow"] ?? "",
				application: o["cds.application"] ?? "",
				environment: o["cds.environment"] ?? "",
				run: o["cds.run.number"] ?? o["cds.version"] ?? "",
				version: o["cds.version"] ?? "",
				integration: o[DEPLOYMENT_VARIABLE] ?? "",
				git: { branch: o["git.branch"] ?? "", hash: o["git.hash"] ?? "" },
				settings,
			});
	const headers: Record<string, string> = {
		"content-type": "application/json",
		"user-agent": "cds-ts-deploy-webhook",
	};
	const token = setting("token");
	if (token) headers.authorization = `Bearer ${token}`;
	const secret = setting("secret");
	if (secret)
		headers["x-cds-signature"] = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
	const seconds = Number(setting("timeout"));
	const timeoutMs = (Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_TIMEOUT_SECONDS) * 1000;
	return { url, headers, body, timeoutMs };
}

export const deployWebhook: DeploymentPlugin = {
	name: "deploy-webhook",
	models: [DEPLOY_WEBHOOK_MODEL],
	async deploy(query, io): Promise<DeploymentOutcome> {
		const request = webhookRequest(query);
		const target = `${query.options["cds.application"] || "the application"} to ${query.options[DEPLOYMENT_VARIABLE] ?? "?"}`;
		io.log(`deploying ${target}: POST ${new URL(request.url).origin}${new URL(request.url).pathname}`);
		const timeout = AbortSignal.timeout(request.timeoutMs);
		const signal = io.signal ? AbortSignal.any([io.signal, timeout]) : timeout;
		const response = await io.fetch(request.url, {
			method: "POST",
			headers: request.headers,
			body: request.body,
			signal,
		});
		const text = (await response.text()).slice(0, 500).trim();
		if (response.status >= 200 && response.status < 300)
			return {
				ok: true,
				details: `the webhook accepted the deployment (HTTP ${response.status})${text ? `: ${text}` : ""}`,
			};
		return {
			ok: false,
			details: `the webhook refused the deployment: HTTP ${response.status}${text ? ` ${text}` : ""}`,
		};
	},
};
