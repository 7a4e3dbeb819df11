// A project's workflows with their last run, an "as code" badge and the repository link.

import { all, get, seg } from "../api.js";
import { badge, h, replace, when } from "../dom.js";

/** A link only for http(s) URLs: a `javascript:` URL from a user must never become an href. */
export function safeHref(url) {
	return typeof url === "string" && /^https?:\/\//i.test(url) ? url : undefined;
}

export function workflowsPage(key) {
	const body = h("tbody", {}, h("tr", {}, h("td", { colspan: 4, class: "muted" }, "Loading…")));
	all(`/projects/${seg(key)}/workflows`).then(
		(items) => {
			replace(
				body,
				items.length === 0 ? h("tr", {}, h("td", { colspan: 4, class: "muted" }, "No workflow yet.")) : null,
				items.map((w) => {
					const last = h("td", { class: "muted" }, "…");
					get(`/projects/${seg(key)}/workflows/${seg(w.name)}/runs?limit=1`).then(
						(page) => {
							const r = page.items?.[0];
							replace(
								last,
								r
									? h(
											"a",
											{ href: `#/p/${key}/w/${seg(w.name)}/r/${r.number}${r.sub ? `.${r.sub}` : ""}` },
											badge(r.status),
											` #${r.number}${r.sub ? `.${r.sub}` : ""} · ${r.branch} · ${when(r.created)}`,
										)
									: "never run",
							);
						},
						() => replace(last, "—"),
					);
					const repo = safeHref(w.repository);
					return h(
						"tr",
						{},
						h("td", {}, h("a", { href: `#/p/${key}/w/${seg(w.name)}` }, w.name)),
						h(
							"td",
							{},
							w.asCode
								? h("span", { class: "badge as-code", title: "defined in its repository" }, "as code")
								: "",
							" ",
							repo ? h("a", { href: repo, rel: "noopener noreferrer", target: "_blank" }, "repository") : "",
						),
						last,
						h("td", {}, h("a", { href: `#/p/${key}/w/${seg(w.name)}/reports` }, "reports")),
					);
				}),
			);
		},
		(e) => replace(body, h("tr", {}, h("td", { colspan: 4, class: "error" }, e.message))),
	);
	return {
		el: h(
			"section",
			{},
			h(
				"h1",
				{},
				`Workflows of ${key}`,
				" ",
				h("a", { class: "small", href: `#/p/${key}/hooks` }, "hook events"),
			),
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
							["Workflow", "Source", "Last run", "Reports"].map((t) => h("th", { scope: "col" }, t)),
						),
					),
					body,
				),
			),
		),
	};
}
