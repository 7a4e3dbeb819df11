// cds hooks events|dead-letters|replay|drop: a project's hook events, and the dead letters the
// processor gave up on (docs/hooks.md, "Dead letters").

import { seg } from "../http.ts";
import { JSON_OPTION } from "../options.ts";
import type { CommandRegistry } from "../registry.ts";
import { formatTable } from "../table.ts";

export interface HookEventRun {
	workflow: string | null;
	number: number;
}

export interface HookEventInfo {
	id: string;
	source: string;
	state: "pending" | "done" | "dead";
	attempts: number;
	lastError: string | null;
	receivedAt: string;
	runs?: HookEventRun[];
}

export interface DeadLetterInfo extends HookEventInfo {
	replays: number;
	reason: "permanent" | "attempts" | null;
	deadAt: string | null;
}

const runsText = (runs: HookEventRun[] | undefined) =>
	(runs ?? []).map((r) => (r.workflow ? `${r.workflow}#${r.number}` : `#${r.number}`)).join(", ");

export function register(registry: CommandRegistry): void {
	registry.addGroup({ path: ["hooks"], summary: "Hook events of a project and their dead letters" });

	registry.add({
		path: ["hooks", "events"],
		summary: "List a project's hook events, newest first, with the runs they started",
		args: "KEY",
		positionals: { min: 1, max: 1 },
		options: { json: JSON_OPTION },
		async run(ctx) {
			const key = ctx.positionals[0]!;
			const events = await (await ctx.client()).listAll<HookEventInfo>(`/projects/${seg(key)}/hooks/events`);
			if (ctx.values.json) ctx.printJson(events);
			else
				ctx.print(
					formatTable(
						["ID", "SOURCE", "STATE", "ATTEMPTS", "RECEIVED", "RUNS", "LAST ERROR"],
						events.map((e) => [
							e.id,
							e.source,
							e.state,
							e.attempts,
							e.receivedAt,
							runsText(e.runs),
							e.lastError,
						]),
					),
				);
			return 0;
		},
	});

	registry.add({
		path: ["hooks", "dead-letters"],
		summary: "List a project's dead letters: hook events that failed for good or too often",
		args: "KEY",
		positionals: { min: 1, max: 1 },
		options: { json: JSON_OPTION },
		async run(ctx) {
			const key = ctx.positionals[0]!;
			const dead = await (await ctx.client()).listAll<DeadLetterInfo>(
				`/projects/${seg(key)}/hooks/dead-letters`,
			);
			if (ctx.values.json) ctx.printJson(dead);
			else
				ctx.print(
					formatTable(
						["ID", "SOURCE", "REASON", "ATTEMPTS", "DEAD SINCE", "LAST ERROR"],
						dead.map((e) => [e.id, e.source, e.reason, e.attempts, e.deadAt, e.lastError]),
					),
				);
			return 0;
		},
	});

	registry.add({
		path: ["hooks", "replay"],
		summary: "Queue a dead letter again (the steps it had done are not done again)",
		args: "KEY EVENT",
		positionals: { min: 2, max: 2 },
		options: { json: JSON_OPTION },
		async run(ctx) {
			const [key, id] = ctx.positionals as [string, string];
			const event = await (await ctx.client()).post<DeadLetterInfo>(
				`/projects/${seg(key)}/hooks/dead-letters/${seg(id)}/replay`,
				{},
			);
			if (ctx.values.json) ctx.printJson(event);
			else ctx.print(`replaying hook event ${event.id} (queued again)`);
			return 0;
		},
	});

	registry.add({
		path: ["hooks", "drop"],
		summary: "Delete a dead letter",
		args: "KEY EVENT",
		positionals: { min: 2, max: 2 },
		async run(ctx) {
			const [key, id] = ctx.positionals as [string, string];
			await (await ctx.client()).delete(`/projects/${seg(key)}/hooks/dead-letters/${seg(id)}`);
			ctx.print(`deleted dead letter ${id}`);
			return 0;
		},
	});
}
