// The templates catalogue: every template of every template repository the cluster knows.

import { all } from "../api.js";
import { h, replace, when } from "../dom.js";
import { safeHref } from "./workflows.js";

export function templatesPage() {
	const rows = h("tbody", {}, h("tr", {}, h("td", { colspan: 4, class: "muted" }, "Loading…")));
	all("/templates").then(
		(items) =>
			replace(
				rows,
				items.length === 0 ? h("tr", {}, h("td", { colspan: 4, class: "muted" }, "No template yet.")) : null,
				items.map((t) => {
					const url = safeHref(t.url);
					return h(
						"tr",
						{},
						h("td", { class: "mono" }, t.ref),
						h("td", { class: "wrap" }, t.description ?? ""),
						h(
							"td",
							{},
							url
								? h("a", { href: url, rel: "noopener noreferrer", target: "_blank" }, "source")
								: (t.origin ?? ""),
						),
						h("td", {}, when(t.updated)),
					);
				}),
			),
		(e) => replace(rows, h("tr", {}, h("td", { colspan: 4, class: "error" }, e.message))),
	);
	return {
		el: h(
			"section",
			{},
			h("h1", {}, "Templates"),
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
							["Template", "Description", "Source", "Updated"].map((x) => h("th", { scope: "col" }, x)),
						),
					),
					rows,
				),
			),
		),
	};
}
