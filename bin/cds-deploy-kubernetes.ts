// The built-in Kubernetes deployment plugin as a process: the worker starts it in the step's
// sandbox, in the workspace, with the plugin query on stdin (src/integrations/plugin-protocol.ts);
// it applies the application's objects through the outbound policy, trusting the
// integration's ca_certificate, waits for the rollout, rolls back on failure, and exits 0 when
// the rollout succeeded (src/integrations/deploy-kubernetes.ts).

import { deployToKubernetes, kubernetesSettings } from "../src/integrations/deploy-kubernetes.ts";
import { readPluginQuery } from "../src/integrations/plugin-protocol.ts";
import { outboundFetch, parseOutboundAllow } from "../src/net/outbound-policy.ts";

let text = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) text += chunk;
try {
	const query = readPluginQuery(text);
	const policy = { allow: parseOutboundAllow(query.outbound.allow) };
	const { ca } = kubernetesSettings(query);
	const outcome = await deployToKubernetes(
		query,
		{
			log: (line) => console.log(line),
			fetch: (url, init) => outboundFetch(url, init, { policy, ca }),
			// Not the cluster: the system's CAs (a Helm values file on a web server).
			download: (url, init, maxBytes) => outboundFetch(url, init, { policy, maxBytes }),
		},
		{ workspace: process.cwd(), helm: query.tools?.helm ?? "" },
	);
	console.log(outcome.details);
	process.exitCode = outcome.ok ? 0 : 1;
} catch (err) {
	// undici says "fetch failed" and puts the reason (a refused certificate…) in `cause`.
	const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : "";
	console.log(`deployment failed: ${err instanceof Error ? err.message : String(err)}${cause}`);
	process.exitCode = 1;
}
