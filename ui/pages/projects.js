// The projects the token can see.

import { all } from "../api.js";
import { h, replace } from "../dom.js";

export function projectsPage() {
	const list = h("ul", { class: "cards" }, h("li", { class: "muted" }, "Loading…"));
	all("/projects").then(
		(items) =>
			replace(
				list,
				items.length === 0 ? h("li", { class: "muted" }, "No project yet.") : null,
				items.map((p) =>
					h(
						"li",
						{ class: "card" },
						h("a", { href: `#/p/${p.key}` }, h("strong", {}, p.key)),
						" ",
						h("span", { class: "muted" }, p.name ?? ""),
					),
				),
			),
		(e) => replace(list, h("li", { class: "error" }, e.message)),
	);
	return {
		el: h(
			"section",
			{},
			h("h1", {}, "Projects"),
			list,
			h("p", {}, h("a", { href: "#/templates" }, "Templates catalogue")),
		),
	};
}
