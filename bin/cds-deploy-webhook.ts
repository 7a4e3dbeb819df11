// The built-in "deploy webhook" deployment plugin as a process: the worker starts it in the
// step's sandbox with the plugin query on stdin (src/integrations/plugin-protocol.ts); it
// POSTs the deployment through the outbound policy and exits 0 when the webhook accepted it.

import { deployWebhook } from "../src/integrations/deploy-webhook.ts";
import { readPluginQuery } from "../src/integrations/plugin-protocol.ts";
import { outboundFetch, parseOutboundAllow } from "../src/net/outbound-policy.ts";

let text = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) text += chunk;
try {
	const query = readPluginQuery(text);
	const policy = { allow: parseOutboundAllow(query.outbound.allow) };
	const outcome = await deployWebhook.deploy(query, {
		log: (line) => console.log(line),
		fetch: (url, init) => outboundFetch(url, init, { policy }),
	});
	console.log(outcome.details);
	process.exitCode = outcome.ok ? 0 : 1;
} catch (err) {
	console.log(`deployment failed: ${err instanceof Error ? err.message : String(err)}`);
	process.exitCode = 1;
}
