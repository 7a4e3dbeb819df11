// A virtualised log: only the rows in view (plus a margin) exist in the page, positioned with the
// CSSOM, so 10,000 lines open at once. Lines are parsed once (src/ui/ansi.ts; colours carry over
// lines) and drawn as text nodes in spans whose classes give the colours. Search jumps between
// matching lines (src/ui/log-search.ts).

import { parseAnsi, styleClasses } from "/ui/lib/ansi.js";
import { matchingLines, visibleRange } from "/ui/lib/log-search.js";
import { h, replace } from "./dom.js";

const ROW = 18;

export function logView() {
	/** @type {{n: number, step: number, raw: string, open: boolean, startStyle: object, segments: any[], plain: string}[]} */
	let lines = [];
	let style = {};
	let matches = [];
	let current = -1;
	let follow = true;
	let pending = false;
	const spacer = h("div", { class: "log-spacer" });
	const viewport = h("div", { class: "log", tabindex: 0, role: "log", "aria-label": "Step log" }, spacer);
	const search = h("input", {
		type: "search",
		placeholder: "Search the log",
		"aria-label": "Search the log",
	});
	const count = h("span", { class: "muted", "aria-live": "polite" });
	const prev = h("button", { type: "button", class: "secondary", "aria-label": "Previous match" }, "↑");
	const nextBtn = h("button", { type: "button", class: "secondary", "aria-label": "Next match" }, "↓");
	const el = h(
		"div",
		{ class: "log-box" },
		h("div", { class: "log-tools" }, search, prev, nextBtn, count),
		viewport,
	);

	const draw = () => {
		pending = false;
		spacer.style.height = `${lines.length * ROW}px`;
		const { first, last } = visibleRange(viewport.scrollTop, viewport.clientHeight || 400, ROW, lines.length);
		const hit = new Set(matches);
		const rows = [];
		for (let i = first; i < last; i++) {
			const line = lines[i];
			const row = h(
				"div",
				{
					class: ["log-row", hit.has(i) ? "hit" : "", matches[current] === i ? "current" : ""],
					dataset: { line: i + 1 },
				},
				h("span", { class: "ln" }, String(line.n)),
				line.segments.map((seg) => {
					const span = h("span", { class: styleClasses(seg.style) }, seg.text);
					if (seg.style.fg?.startsWith("#")) span.style.color = seg.style.fg;
					if (seg.style.bg?.startsWith("#")) span.style.backgroundColor = seg.style.bg;
					return span;
				}),
			);
			row.style.transform = `translateY(${i * ROW}px)`;
			rows.push(row);
		}
		replace(spacer, ...rows);
	};
	const schedule = () => {
		if (!pending) {
			pending = true;
			requestAnimationFrame(draw);
		}
	};
	const runSearch = () => {
		matches = matchingLines(
			lines.map((l) => l.plain),
			search.value,
		);
		current = matches.length ? 0 : -1;
		count.textContent = search.value.trim()
			? `${matches.length} match${matches.length === 1 ? "" : "es"}`
			: "";
		if (current >= 0) jump();
		schedule();
	};
	const jump = () => {
		follow = false;
		const target = Math.max(0, matches[current] * ROW - viewport.clientHeight / 2);
		if (viewport.scrollTop !== target) {
			ownScroll = true;
			viewport.scrollTop = target;
		}
		count.textContent = `${current + 1} / ${matches.length}`;
		schedule();
	};
	search.addEventListener("input", runSearch);
	prev.addEventListener("click", () => {
		if (!matches.length) return;
		current = (current - 1 + matches.length) % matches.length;
		jump();
	});
	nextBtn.addEventListener("click", () => {
		if (!matches.length) return;
		current = (current + 1) % matches.length;
		jump();
	});
	// Only the user's own scrolling decides whether the view keeps following the end.
	let ownScroll = false;
	viewport.addEventListener("scroll", () => {
		if (ownScroll) ownScroll = false;
		else follow = viewport.scrollTop + viewport.clientHeight >= viewport.scrollHeight - ROW;
		schedule();
	});
	const toEnd = () => {
		spacer.style.height = `${lines.length * ROW}px`;
		const target = Math.max(0, lines.length * ROW - viewport.clientHeight);
		if (viewport.scrollTop !== target) {
			ownScroll = true;
			viewport.scrollTop = target;
		}
		schedule();
	};

	return {
		el,
		/** Replaces the lines ({text, step}) shown. */
		set(items) {
			lines = [];
			style = {};
			follow = true;
			this.add(items);
			if (search.value) runSearch();
		},
		/** Appends lines; the view follows the end unless the user scrolled up. */
		add(items) {
			for (const item of items) {
				// A stored entry is a chunk of output, not a line: split it at newlines, and continue
				// the previous row when the previous chunk (of the same step) ended mid-line.
				const texts = String(item.text ?? "").split(/\r?\n/);
				const last = lines[lines.length - 1];
				if (last?.open && last.step === item.step) {
					lines.pop();
					style = last.startStyle;
					texts[0] = last.raw + texts[0];
				}
				texts.forEach((raw, i) => {
					const open = i === texts.length - 1;
					if (open && raw === "") return;
					const startStyle = style;
					const parsed = parseAnsi(raw, style);
					style = parsed.end;
					lines.push({
						n: lines.length + 1,
						step: item.step,
						raw,
						open,
						startStyle,
						segments: parsed.segments,
						plain: parsed.segments.map((x) => x.text).join(""),
					});
				});
			}
			if (follow) requestAnimationFrame(() => follow && toEnd());
			schedule();
		},
		size: () => lines.length,
	};
}
