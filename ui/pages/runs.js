// A workflow: its graph, and its runs newest first with filters (branch on the API; status and who
// started it on the page, over the pages loaded), paginated with the API's {items, next}.

import { API, get, seg } from "../api.js";
import { badge, duration, h, replace, shortCommit, when } from "../dom.js";
import { graphView } from "../graph-view.js";
import { safeHref } from "./workflows.js";

const STATUSES = ["", "Building", "Waiting", "Success", "Fail", "Stopped"];

export function runsPage(key, name) {
	const base = `/projects/${seg(key)}/workflows/${seg(name)}`;
	const graph = h("div", { class: "graph-box" }, h("p", { class: "muted" }, "Loading the graph…"));
	const info = h("p", { class: "muted" });
	get(base).then(
		(w) => {
			replace(graph, graphView(w.model?.nodes ?? [], new Map(), { hooks: w.model?.hooks }));
			const repo = safeHref(w.repository);
			replace(
				info,
				`Branch ${w.branch} · version ${w.version}`,
				w.asCode ? [" · ", h("span", { class: "badge as-code" }, "as code")] : "",
				repo
					? [" · ", h("a", { href: repo, rel: "noopener noreferrer", target: "_blank" }, "repository")]
					: "",
				w.model?.hooks?.length ? ` · hooks: ${w.model.hooks.map((x) => x.type).join(", ")}` : "",
			);
		},
		(e) => replace(graph, h("p", { class: "error" }, e.message)),
	);
	const branch = h("input", { id: "f-branch", type: "text", placeholder: "any branch", maxlength: 255 });
	const who = h("input", { id: "f-who", type: "text", placeholder: "anyone", maxlength: 128 });
	const status = h(
		"select",
		{ id: "f-status" },
		STATUSES.map((st) => h("option", { value: st }, st || "any status")),
	);
	const rows = h("tbody");
	const more = h("button", { type: "button", class: "secondary", hidden: true }, "More runs");
	let next = null;
	/** Whether the table shows exactly the newest page, unfiltered: then live updates replace it. */
	let plainFirstPage = false;
	const refOf = (r) => `${r.number}${r.sub ? `.${r.sub}` : ""}`;
	const matches = (r) => {
		const by = who.value.trim();
		return (!status.value || r.status === status.value) && (!by || r.triggeredBy === by);
	};
	const rowOf = (r) =>
		h(
			"tr",
			{ dataset: { ref: refOf(r) } },
			h("td", {}, h("a", { href: `#/p/${key}/w/${seg(name)}/r/${refOf(r)}` }, `#${refOf(r)}`)),
			h("td", {}, badge(r.status)),
			h("td", {}, r.branch),
			h("td", { class: "mono" }, shortCommit(r.commit ?? "")),
			h("td", {}, r.triggeredBy),
			h("td", {}, when(r.created)),
			h("td", {}, duration(r.created, r.ended)),
		);
	const noMatch = () => h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No run matches."));
	const load = async (reset) => {
		if (reset) {
			next = null;
			replace(rows);
		}
		const q = new URLSearchParams({ limit: "25" });
		if (branch.value.trim()) q.set("branch", branch.value.trim());
		if (next) q.set("cursor", next);
		plainFirstPage = !next && !branch.value.trim() && !status.value && !who.value.trim();
		try {
			const page = await get(`${base}/runs?${q}`);
			next = page.next;
			more.hidden = !next;
			rows.append(...page.items.filter(matches).map(rowOf));
			if (rows.childElementCount === 0 && !next) rows.append(noMatch());
		} catch (e) {
			rows.append(h("tr", {}, h("td", { colspan: 7, class: "error" }, e.message)));
		}
	};
	// Live: the gateway streams the newest page whenever a run starts or changes.
	const live = new EventSource(`${API}/ui/projects/${seg(key)}/workflows/${seg(name)}/events`);
	live.addEventListener("runs", (e) => {
		const items = JSON.parse(e.data);
		if (plainFirstPage && !branch.value.trim()) {
			replace(rows, ...items.map(rowOf));
			if (items.length === 0) rows.append(noMatch());
			return;
		}
		for (const r of items) {
			const row = rows.querySelector(`tr[data-ref="${refOf(r)}"]`);
			if (!row) continue;
			if (matches(r)) row.replaceWith(rowOf(r));
			else row.remove();
		}
	});
	const filters = h(
		"form",
		{
			class: "filters",
			onsubmit: (e) => {
				e.preventDefault();
				load(true);
			},
		},
		h("label", { for: "f-branch" }, "Branch"),
		branch,
		h("label", { for: "f-status" }, "Status"),
		status,
		h("label", { for: "f-who" }, "Started by"),
		who,
		h("button", { type: "submit" }, "Filter"),
	);
	status.addEventListener("change", () => load(true));
	more.addEventListener("click", () => load(false));
	load(true);
	return {
		el: h(
			"section",
			{},
			h(
				"h1",
				{},
				name,
				" ",
				h("a", { class: "small", href: `#/p/${key}/w/${seg(name)}/reports` }, "reports"),
			),
			info,
			graph,
			h("h2", {}, "Runs"),
			filters,
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
							["Run", "Status", "Branch", "Commit", "By", "Started", "Duration"].map((t) =>
								h("th", { scope: "col" }, t),
							),
						),
					),
					rows,
				),
			),
			more,
		),
		leave: () => live.close(),
	};
}
