// Which file answers a web UI path, and the headers every UI answer carries (docs/ui.md). The UI
// is static: `ui/` holds the page, its ES modules and styles; the few pure modules shared with the
// unit tests live in `src/ui/*.ts` and are served with their types stripped (no build step).

/** The browser's rules for every UI answer: our own scripts and styles only, no framing, no sniffing. */
export const CONTENT_SECURITY_POLICY = [
	"default-src 'none'",
	"script-src 'self'",
	"style-src 'self'",
	"img-src 'self' data:",
	"connect-src 'self'",
	"base-uri 'none'",
	"form-action 'self'",
	"frame-ancestors 'none'",
].join("; ");

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
	"Content-Security-Policy": CONTENT_SECURITY_POLICY,
	"X-Content-Type-Options": "nosniff",
	"X-Frame-Options": "DENY",
	"Referrer-Policy": "no-referrer",
	"Cross-Origin-Opener-Policy": "same-origin",
	"Cross-Origin-Resource-Policy": "same-origin",
};

/** The src/ui modules the browser imports as `/ui/lib/<name>.js` (pure: no DOM, no Node). */
export const SHARED_MODULES = ["ansi", "graph-layout", "trend", "log-search", "report-origin"] as const;

const TYPES: Record<string, string> = {
	html: "text/html; charset=utf-8",
	js: "text/javascript; charset=utf-8",
	css: "text/css; charset=utf-8",
	svg: "image/svg+xml",
	json: "application/json; charset=utf-8",
};

export type Asset =
	| { kind: "file"; file: string; type: string }
	| { kind: "shared"; module: string; type: string };

/**
 * The asset a URL path names, or undefined. Paths are matched against a strict pattern (lower-case
 * names, one known extension, no dot segments), so no request reaches a file outside `ui/`.
 */
export function assetFor(urlPath: string): Asset | undefined {
	if (urlPath === "/" || urlPath === "/index.html")
		return { kind: "file", file: "index.html", type: TYPES.html! };
	if (urlPath.startsWith("/ui/lib/")) {
		// `/ui/lib/` names the shared src/ui modules and nothing else.
		const shared = /^\/ui\/lib\/([a-z][a-z0-9-]*)\.js$/.exec(urlPath);
		return shared && (SHARED_MODULES as readonly string[]).includes(shared[1]!)
			? { kind: "shared", module: shared[1]!, type: TYPES.js! }
			: undefined;
	}
	const m = /^\/ui\/((?:[a-z0-9][a-z0-9_-]*\/)*[a-z0-9][a-z0-9_-]*)\.(js|css|svg|json)$/.exec(urlPath);
	if (!m) return undefined;
	return { kind: "file", file: `${m[1]}.${m[2]}`, type: TYPES[m[2]!]! };
}
