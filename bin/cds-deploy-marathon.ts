// The built-in Marathon deployment plugin as a process: the worker starts it in the step's
// sandbox, in the workspace, with the plugin query on stdin (src/integrations/plugin-protocol.ts);
// it puts the application's app definition to Marathon through the outbound policy, follows
// the deployment, rolls back on failure or timeout, and exits 0 when the deployment succeeded
// (src/integrations/deploy-marathon.ts).

import { deployToMarathon } from "../src/integrations/deploy-marathon.ts";
import { readPluginQuery } from "../src/integrations/plugin-protocol.ts";
import { outboundFetch, parseOutboundAllow } from "../src/net/outbound-policy.ts";

let text = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) text += chunk;
try {
	const query = readPluginQuery(text);
	const policy = { allow: parseOutboundAllow(query.outbound.allow) };
	const outcome = await deployToMarathon(
		query,
		{ log: (line) => console.log(line), fetch: (url, init) => outboundFetch(url, init, { policy }) },
		{ workspace: process.cwd() },
	);
	console.log(outcome.details);
	process.exitCode = outcome.ok ? 0 : 1;
} catch (err) {
	const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : "";
	console.log(`deployment failed: ${err instanceof Error ? err.message : String(err)}${cause}`);
	process.exitCode = 1;
}
