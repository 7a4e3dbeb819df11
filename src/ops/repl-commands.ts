// Custom commands for the ops REPL (moleculer-repl). They call the same actions as the
// REST API, from inside the cluster, so operators see what users see.

interface ReplBroker {
	call(action: string, params?: unknown): Promise<any>;
}

function table(rows: Array<Record<string, unknown>>, columns: string[]): string {
	if (rows.length === 0) return "(none)";
	const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? "").length)));
	const line = (cells: string[]) =>
		cells
			.map((c, i) => c.padEnd(widths[i]))
			.join("  ")
			.trimEnd();
	return [
		line(columns.map((c) => c.toUpperCase())),
		...rows.map((r) => line(columns.map((c) => String(r[c] ?? "")))),
	].join("\n");
}

async function all(broker: ReplBroker, action: string, params: Record<string, unknown>) {
	const items: Array<Record<string, unknown>> = [];
	let cursor: string | undefined;
	do {
		const page = await broker.call(action, { ...params, limit: 500, ...(cursor ? { cursor } : {}) });
		items.push(...page.items);
		cursor = page.next ?? undefined;
	} while (cursor);
	return items;
}

export const replCommands = [
	{
		command: "projects",
		description: "List CDS-TS projects",
		async action(broker: ReplBroker) {
			console.log(table(await all(broker, "project.list", {}), ["key", "name", "created"]));
		},
	},
	{
		command: "workflows <key>",
		description: "List the workflows of a project",
		async action(broker: ReplBroker, args: { key: string }) {
			try {
				console.log(
					table(await all(broker, "workflow.list", { key: args.key }), [
						"name",
						"branch",
						"version",
						"updated",
					]),
				);
			} catch (e) {
				console.log(`error: ${(e as Error).message}`);
			}
		},
	},
];
