// cds login: checks the credentials against GET /auth/me, then stores them.

import { normalizeApiUrl, timeoutMs, writeConfig } from "../config.ts";
import { ApiClient } from "../http.ts";
import type { CommandRegistry } from "../registry.ts";

export interface Me {
	id: string;
	role: string;
	project: string | null;
	admin: boolean;
}

export function register(registry: CommandRegistry): void {
	registry.add({
		path: ["login"],
		summary: "Check an API URL and token, then save them in the config file",
		options: {
			"api-url": {
				type: "string",
				valueName: "URL",
				description: "CDS API root, e.g. http://localhost:8081 (the server's default port, CDS_API_PORT)",
				required: true,
			},
			token: { type: "string", valueName: "T", description: "bearer token", required: true },
		},
		details:
			"The config file is $CDS_CONFIG, else $XDG_CONFIG_HOME/cds/config.json, else ~/.config/cds/config.json.\n" +
			"CDS_API_URL and CDS_TOKEN override the saved values.",
		async run(ctx) {
			const apiUrl = normalizeApiUrl(ctx.values["api-url"] as string);
			const token = ctx.values.token as string;
			const client = new ApiClient({ apiUrl, token, timeoutMs: timeoutMs(ctx.io.env) });
			const me = await client.get<Me>("/auth/me");
			const path = await writeConfig(ctx.io.env, { apiUrl, token });
			const scope = me.project ? `project ${me.project}` : "all projects";
			ctx.print(
				`logged in to ${apiUrl} (token ${me.id}, role ${me.role}, ${scope}${me.admin ? ", admin" : ""})`,
			);
			ctx.print(`saved to ${path}`);
			return 0;
		},
	});
}
