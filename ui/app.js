// The web UI's entry point: the session, the header and a hash router (#/p/KEY/w/NAME/r/N …),
// so the gateway serves one page and every link works after a reload.

import { currentUser, loadSession, signOut } from "./api.js";
import { h, replace } from "./dom.js";
import { hooksPage } from "./pages/hooks.js";
import { projectsPage } from "./pages/projects.js";
import { reportsPage } from "./pages/reports.js";
import { runPage } from "./pages/run.js";
import { runsPage } from "./pages/runs.js";
import { signInPage } from "./pages/sign-in.js";
import { templatesPage } from "./pages/templates.js";
import { workflowsPage } from "./pages/workflows.js";

const app = document.getElementById("app");
const crumbs = document.getElementById("crumbs");
const who = document.getElementById("who");

/** The page leaving the screen stops its live stream and timers. */
let leave = () => {};

const ROUTES = [
	[/^#?\/?$/, () => projectsPage()],
	[/^#\/templates$/, () => templatesPage()],
	[/^#\/p\/([A-Z0-9]+)$/, (m) => workflowsPage(m[1])],
	[/^#\/p\/([A-Z0-9]+)\/hooks$/, (m) => hooksPage(m[1])],
	[/^#\/p\/([A-Z0-9]+)\/w\/([^/]+)$/, (m) => runsPage(m[1], decodeURIComponent(m[2]))],
	[/^#\/p\/([A-Z0-9]+)\/w\/([^/]+)\/reports$/, (m) => reportsPage(m[1], decodeURIComponent(m[2]))],
	[/^#\/p\/([A-Z0-9]+)\/w\/([^/]+)\/r\/([0-9.]+)$/, (m) => runPage(m[1], decodeURIComponent(m[2]), m[3])],
];

function breadcrumbs(hash) {
	const parts = [h("a", { href: "#/" }, "Projects")];
	const m = /^#\/p\/([A-Z0-9]+)(?:\/w\/([^/]+)(?:\/(reports|r\/([0-9.]+)))?)?/.exec(hash);
	if (hash === "#/templates") parts.push(" / ", "templates");
	if (m) {
		parts.push(" / ", h("a", { href: `#/p/${m[1]}` }, m[1]));
		if (hash.endsWith("/hooks")) parts.push(" / ", "hook events");
		if (m[2]) parts.push(" / ", h("a", { href: `#/p/${m[1]}/w/${m[2]}` }, decodeURIComponent(m[2])));
		if (m[4]) parts.push(" / ", `#${m[4]}`);
		else if (m[3]) parts.push(" / ", "reports");
	}
	replace(crumbs, ...parts);
}

function header() {
	const user = currentUser();
	if (!user) return replace(who);
	replace(
		who,
		h("span", { class: "role" }, `${user.project ?? "all projects"} · ${user.role}`),
		" ",
		h(
			"button",
			{
				type: "button",
				class: "link",
				onclick: async () => {
					await signOut().catch(() => {});
					route();
				},
			},
			"Sign out",
		),
	);
}

async function route() {
	leave();
	leave = () => {};
	const hash = location.hash || "#/";
	breadcrumbs(hash);
	const user = currentUser() ?? (await loadSession());
	header();
	if (!user) {
		replace(app, signInPage(route));
		return;
	}
	for (const [re, page] of ROUTES) {
		const m = re.exec(hash);
		if (!m) continue;
		const view = page(m);
		replace(app, view.el);
		leave = view.leave ?? (() => {});
		return;
	}
	replace(app, h("p", {}, "No such page. ", h("a", { href: "#/" }, "Projects")));
}

window.addEventListener("hashchange", route);
window.addEventListener("cds:signed-out", () => {
	if (currentUser()) location.reload();
});
route().catch((e) => replace(app, h("p", { class: "error" }, `The UI could not start: ${e.message}`)));
