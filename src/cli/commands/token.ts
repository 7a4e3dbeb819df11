// cds token create|list|revoke

import { seg } from "../http.ts";
import type { CommandRegistry } from "../registry.ts";
import { formatFields, formatTable } from "../table.ts";
import { JSON_OPTION } from "../options.ts";

export interface CreatedToken {
	id: string;
	token: string;
	project: string | null;
	role: string;
	expiresAt: string | null;
	created: string;
}

export interface TokenInfo {
	id: string;
	project: string | null;
	role: string;
	expiresAt: string | null;
	created: string;
	name?: string | null;
}

export function register(registry: CommandRegistry): void {
	registry.addGroup({ path: ["token"], summary: "Manage API tokens" });

	registry.add({
		path: ["token", "create"],
		summary: "Create an API token (the secret is printed only once)",
		options: {
			role: {
				type: "string",
				valueName: "read|write|admin",
				choices: ["read", "write", "admin"],
				description: "what the token may do",
				required: true,
			},
			project: { type: "string", valueName: "KEY", description: "limit the token to one project" },
			expires: { type: "string", valueName: "WHEN", description: "lifetime (30d, 12h) or an ISO date" },
			name: { type: "string", valueName: "N", description: "a name to recognise the token by" },
			json: JSON_OPTION,
		},
		async run(ctx) {
			const { role, project, expires, name } = ctx.values as Record<string, string | undefined>;
			const created = await (await ctx.client()).post<CreatedToken>("/auth/tokens", {
				role,
				project,
				expires,
				name,
			});
			if (ctx.values.json) {
				ctx.printJson(created);
				return 0;
			}
			ctx.print(
				formatFields([
					["token", created.token],
					["id", created.id],
					["role", created.role],
					["project", created.project ?? "(all)"],
					["expires", created.expiresAt ?? "never"],
				]),
			);
			ctx.warn("This token is shown only once: store it now.");
			return 0;
		},
	});

	registry.add({
		path: ["token", "list"],
		summary: "List API tokens",
		options: { json: JSON_OPTION },
		async run(ctx) {
			const tokens = await (await ctx.client()).listAll<TokenInfo>("/auth/tokens");
			if (ctx.values.json) ctx.printJson(tokens);
			else {
				ctx.print(
					formatTable(
						["ID", "NAME", "PROJECT", "ROLE", "EXPIRES", "CREATED"],
						tokens.map((t) => [
							t.id,
							t.name,
							t.project ?? "(all)",
							t.role,
							t.expiresAt ?? "never",
							t.created,
						]),
					),
				);
			}
			return 0;
		},
	});

	registry.add({
		path: ["token", "revoke"],
		summary: "Revoke an API token",
		args: "ID",
		positionals: { min: 1, max: 1 },
		async run(ctx) {
			const id = ctx.positionals[0]!;
			await (await ctx.client()).delete(`/auth/tokens/${seg(id)}`);
			ctx.print(`revoked token ${id}`);
			return 0;
		},
	});
}
