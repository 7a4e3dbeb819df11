// A workflow's reports: those of its latest run with reports — tests with failures first and new
// failures marked, coverage with its delta against the previous run and the default branch,
// static analysis and vulnerabilities by severity — and a trend chart per kind over the last runs.

import { all, get, seg } from "../api.js";
import { h, replace, s } from "../dom.js";
import { reportOrigin } from "/ui/lib/report-origin.js";
import { trendChart } from "/ui/lib/trend.js";

const SEVERITIES = ["critical", "high", "medium", "low", "info", "unknown"];
/** The value charted for each kind (a key of the history API's `values`). */
const TREND = {
	tests: ["failures", "failed tests"],
	coverage: ["lines", "line coverage %"],
	security: ["total", "vulnerabilities"],
	analysis: ["total", "findings"],
};

const fmt = (n) => (typeof n === "number" ? (Number.isInteger(n) ? String(n) : n.toFixed(1)) : "—");
const signed = (n) => (typeof n === "number" ? `${n > 0 ? "+" : ""}${fmt(n)}` : "—");

function trend(kind, points) {
	const [key, label] = TREND[kind];
	const W = 320;
	const H = 90;
	const chart = trendChart(
		points.map((p) => ({ label: `#${p.runNumber}`, value: p.values?.[key] ?? null })),
		W,
		H,
		6,
	);
	const svg = s(
		"svg",
		{
			class: "trend",
			viewBox: `0 0 ${W} ${H}`,
			width: W,
			height: H,
			role: "img",
			"aria-label": `Trend of ${label} over ${points.length} runs`,
			dataset: { kind },
		},
		s("polyline", { class: "trend-line", points: chart.points.map((p) => `${p.x},${p.y}`).join(" ") }),
		chart.points.map((p) =>
			s(
				"circle",
				{ class: "trend-dot", cx: p.x, cy: p.y, r: 3 },
				s("title", {}, `${p.label}: ${fmt(p.value)}`),
			),
		),
	);
	return h(
		"figure",
		{ class: "card" },
		svg,
		h(
			"figcaption",
			{},
			`${label}: min ${fmt(chart.min)}, max ${fmt(chart.max)} over ${chart.points.length} runs`,
		),
	);
}

function testsDetail(report, detail) {
	// New against the previous run on the branch; a branch's first run is judged against the default branch.
	const baseline = report.comparisons?.previous ?? report.comparisons?.default;
	const newFailures = new Set(baseline?.delta?.newFailures ?? []);
	const against = baseline
		? baseline === report.comparisons?.previous
			? `#${baseline.against?.runNumber}`
			: `${baseline.against?.branch}`
		: "";
	const cases = [...(detail.cases ?? [])].sort(
		(a, b) =>
			Number(b.status === "failed" || b.status === "error") -
			Number(a.status === "failed" || a.status === "error"),
	);
	const t = report.summary.totals;
	return [
		h(
			"p",
			{},
			`${t.tests} tests · ${t.passed} passed · ${t.failures} failed · ${t.errors ?? 0} errors · ${t.skipped} skipped`,
		),
		h(
			"ul",
			{ class: "cases" },
			cases.map((c) =>
				h(
					"li",
					{ class: ["case", `case-${c.status}`] },
					h("span", { class: "badge" }, c.status),
					" ",
					newFailures.has(c.id)
						? h("span", { class: "badge new", title: `failing since ${against}` }, "new")
						: "",
					" ",
					h("span", { class: "case-name" }, c.id),
					c.message ? h("pre", { class: "case-message" }, c.message) : "",
				),
			),
		),
	];
}

function coverageDetail(report) {
	const prev = report.comparisons?.previous;
	const onDefault = report.comparisons?.default;
	return h(
		"table",
		{},
		h(
			"thead",
			{},
			h(
				"tr",
				{},
				["Metric", "Covered", "vs previous", "vs default branch"].map((x) => h("th", { scope: "col" }, x)),
			),
		),
		h(
			"tbody",
			{},
			Object.entries(report.summary.totals ?? {}).map(([metric, c]) =>
				h(
					"tr",
					{},
					h("td", {}, metric),
					h("td", {}, c?.total ? `${fmt((100 * c.covered) / c.total)} % (${c.covered}/${c.total})` : "—"),
					h("td", {}, prev ? `${signed(prev.delta.totals?.[metric])} (#${prev.against.runNumber})` : "—"),
					h(
						"td",
						{},
						onDefault ? `${signed(onDefault.delta.totals?.[metric])} (${onDefault.against.branch})` : "—",
					),
				),
			),
		),
	);
}

function severityDetail(report, detail) {
	const counts = report.summary.counts ?? {};
	const baseline = report.comparisons?.previous ?? report.comparisons?.default;
	const added = baseline?.delta?.newBySeverity ?? {};
	const items = detail.vulnerabilities ?? detail.findings ?? [];
	return [
		h(
			"ul",
			{ class: "severities" },
			SEVERITIES.filter((k) => k in counts).map((k) =>
				h(
					"li",
					{ class: `sev sev-${k}`, dataset: { severity: k } },
					`${k}: ${counts[k]}${added[k] ? ` (${added[k]} new)` : ""}`,
				),
			),
		),
		h(
			"ul",
			{ class: "cases" },
			items
				.slice(0, 200)
				.map((v) =>
					h(
						"li",
						{},
						h("span", { class: `badge sev-${v.severity}` }, v.severity),
						" ",
						v.id ?? v.rule ?? "",
						" ",
						v.package ?? v.file ?? "",
						" ",
						v.title ?? v.message ?? "",
					),
				),
		),
	];
}

export function reportsPage(key, name) {
	const base = `/projects/${seg(key)}/workflows/${seg(name)}`;
	const trends = h("div", { class: "trends" });
	const list = h("div", {}, h("p", { class: "muted" }, "Loading…"));
	const head = h("p", { class: "muted" });
	get(`${base}/reports`).then(
		async (latest) => {
			replace(head, `Run #${latest.runNumber} on ${latest.branch}`);
			const rest = latest.next ? await all(`${base}/reports?cursor=${seg(latest.next)}`) : [];
			const reports = [...latest.items, ...rest];
			replace(
				list,
				reports.map((r) => {
					const box = h(
						"article",
						{ class: ["card", "report", `report-${r.kind}`], dataset: { kind: r.kind, node: r.node } },
						h(
							"h2",
							{},
							`${r.kind}: ${r.name}`,
							" ",
							h(
								"span",
								{ class: ["badge", r.gate?.passed ? "st-Success" : "st-Fail"] },
								r.gate?.passed ? "gate passed" : "gate failed",
							),
						),
						// A run can hold several reports of one name: one per node, and one per restart of a node.
						h(
							"p",
							{ class: ["muted", "report-origin"] },
							`from ${reportOrigin({ node: String(r.node), runId: String(r.runId), jobId: String(r.jobId) })}`,
						),
						r.gate?.failures?.length
							? h(
									"ul",
									{},
									r.gate.failures.map((f) => h("li", { class: "error" }, f)),
								)
							: "",
					);
					get(`/projects/${seg(key)}/reports/${seg(r.id)}`).then((full) => {
						const detail = full.detail ?? {};
						if (r.kind === "tests") box.append(...testsDetail(r, detail));
						else if (r.kind === "coverage") box.append(coverageDetail(r));
						else box.append(...severityDetail(r, detail));
					});
					return box;
				}),
			);
			const kinds = [...new Set(reports.map((r) => r.kind))].filter((k) => k in TREND);
			for (const kind of kinds) {
				get(`${base}/reports/history?kind=${kind}&limit=30`).then((hist) =>
					trends.append(trend(kind, hist.points ?? [])),
				);
			}
		},
		(e) =>
			replace(
				list,
				h(
					"p",
					{ class: e.status === 404 ? "muted" : "error" },
					e.status === 404 ? "No report yet." : e.message,
				),
			),
	);
	return {
		el: h("section", {}, h("h1", {}, `Reports of ${name}`), head, h("h2", {}, "Trends"), trends, list),
	};
}
