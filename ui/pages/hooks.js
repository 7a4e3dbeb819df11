// A project's hook events (webhooks, pollers, schedules, queues…), newest first: their outcome,
// the runs they started, and — for a dead letter, to a user who may write — a replay button.

import { ApiError, can, get, post, seg } from "../api.js";
import { h, replace, when } from "../dom.js";

export function hooksPage(key) {
	const rows = h("tbody");
	const more = h("button", { type: "button", class: "secondary", hidden: true }, "More events");
	const message = h("p", { class: "error", role: "alert" });
	let next = null;
	const row = (e) => {
		const state = h("td", {}, h("span", { class: ["badge", `hook-${e.state}`] }, e.state));
		const replay =
			e.state === "dead" && can(key, "write")
				? h(
						"button",
						{
							type: "button",
							class: "secondary",
							dataset: { action: "replay" },
							onclick: async (ev) => {
								message.textContent = "";
								try {
									const again = await post(`/projects/${seg(key)}/hooks/dead-letters/${seg(e.id)}/replay`);
									replace(
										state,
										h("span", { class: ["badge", `hook-${again.state}`] }, again.state ?? "queued"),
									);
									ev.target.remove();
								} catch (err) {
									message.textContent =
										err instanceof ApiError && err.status === 403 ? "Not allowed: replay." : err.message;
								}
							},
						},
						"Replay",
					)
				: null;
		return h(
			"tr",
			{ dataset: { event: e.id } },
			h("td", {}, when(e.receivedAt)),
			h("td", {}, e.source),
			state,
			h("td", {}, String(e.attempts ?? 0)),
			h(
				"td",
				{},
				(e.runs ?? []).map((r) => [
					h("a", { href: `#/p/${key}/w/${seg(r.workflow)}/r/${r.number}` }, `${r.workflow} #${r.number}`),
					" ",
				]),
			),
			h("td", { class: "wrap" }, e.lastError ?? ""),
			h("td", {}, replay),
		);
	};
	const load = async () => {
		try {
			const page = await get(
				`/projects/${seg(key)}/hooks/events?limit=50${next ? `&cursor=${seg(next)}` : ""}`,
			);
			next = page.next;
			more.hidden = !next;
			rows.append(...page.items.map(row));
			if (rows.childElementCount === 0)
				rows.append(h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No hook event yet.")));
		} catch (e) {
			rows.append(h("tr", {}, h("td", { colspan: 7, class: "error" }, e.message)));
		}
	};
	more.addEventListener("click", load);
	load();
	return {
		el: h(
			"section",
			{},
			h("h1", {}, `Hook events of ${key}`),
			message,
			h(
				"div",
				{ class: "scroll-x" },
				h(
					"table",
					{},
					h(
						"thead",
						{},
						h(
							"tr",
							{},
							["Received", "Source", "Outcome", "Attempts", "Runs", "Last error", ""].map((t) =>
								h("th", { scope: "col" }, t),
							),
						),
					),
					rows,
				),
			),
			more,
		),
	};
}
