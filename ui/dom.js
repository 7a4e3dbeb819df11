// The web UI's only way to build the page: elements from tag names, attributes set one by one
// and children appended as text nodes. Nothing here parses markup, so text from users (log lines,
// test names, commit messages) can never become HTML. The CSP forbids inline scripts anyway.

const SVG_NS = "http://www.w3.org/2000/svg";

function build(el, attrs, children) {
	for (const [k, v] of Object.entries(attrs ?? {})) {
		if (v === undefined || v === null || v === false) continue;
		if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
		else if (k === "class") el.setAttribute("class", Array.isArray(v) ? v.filter(Boolean).join(" ") : v);
		else if (k === "dataset") Object.assign(el.dataset, v);
		else if (/^[a-z][a-z0-9:-]*$/i.test(k) && !/^on/i.test(k))
			el.setAttribute(k, v === true ? "" : String(v));
	}
	append(el, children);
	return el;
}

/** Appends children: nodes as they are, strings and numbers as text nodes, arrays flattened. */
export function append(el, children) {
	for (const c of children ?? []) {
		if (c === undefined || c === null || c === false) continue;
		if (Array.isArray(c)) append(el, c);
		else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
	return el;
}

/** An HTML element: h("a", {href: "#/"}, "text", child, …). */
export function h(tag, attrs, ...children) {
	return build(document.createElement(tag), attrs, children);
}

/** An SVG element. */
export function s(tag, attrs, ...children) {
	return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function clear(el) {
	while (el.firstChild) el.firstChild.remove();
	return el;
}

/** Replaces an element's children. */
export function replace(el, ...children) {
	return append(clear(el), children);
}

const STATUS_CLASSES = new Set([
	"Success",
	"Fail",
	"Building",
	"Waiting",
	"Stopped",
	"Skipped",
	"Manual",
	"Never",
	"Disabled",
]);

/** A status badge (its class from a fixed list, its text the status). */
export function badge(status) {
	return h(
		"span",
		{ class: ["badge", STATUS_CLASSES.has(status) ? `st-${status}` : "st-other"] },
		status ?? "—",
	);
}

export function duration(fromIso, toIso) {
	if (!fromIso) return "";
	const ms = (toIso ? Date.parse(toIso) : Date.now()) - Date.parse(fromIso);
	if (!Number.isFinite(ms) || ms < 0) return "";
	const sec = Math.round(ms / 1000);
	if (sec < 60) return `${sec}s`;
	const min = Math.floor(sec / 60);
	if (min < 60) return `${min}m ${sec % 60}s`;
	return `${Math.floor(min / 60)}h ${min % 60}m`;
}

export function when(iso) {
	if (!iso) return "";
	const d = new Date(iso);
	return Number.isNaN(d.getTime()) ? "" : d.toLocaleString();
}

/** A commit hash shortened to 12 characters; anything else (a ref, a message) up to 80. */
export function shortCommit(commit) {
	return /^[0-9a-f]{40,64}$/i.test(commit) ? commit.slice(0, 12) : commit.slice(0, 80);
}
