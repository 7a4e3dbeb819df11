// The web UI in a real browser (Debian's chromium through playwright-core): sign-in, a live run
// whose statuses and log lines arrive without reload, a failed step's log, a restart, reports with
// their trend, script payloads that stay text, axe-core accessibility, a read-only user and a
// narrow viewport. Screenshots of each page go to test/browser/chromium.ts's screenshotDir().

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { chromiumMissing, launchChromium, screenshotDir } from "./chromium.ts";
import { PAYLOAD, startUiCluster, type UiCluster, uiWorkflowFiles, writeReports } from "./fixture.ts";

// Code passed to page.evaluate runs in the page; the project's types have no DOM, so its globals are declared here.
declare const window: any;
declare const document: any;
declare const localStorage: Record<string, string>;
declare const sessionStorage: Record<string, string>;

const WF = "/api/v1/projects/UI/workflows/ui";
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const shots = screenshotDir();
const missing = chromiumMissing();

let cluster: UiCluster;
let browser: Browser;
let context: BrowserContext;
let page: Page;

/** Records what must never happen in a page: a planted script running, a CSP violation, a page error. */
function watch(p: Page) {
	const problems: string[] = [];
	p.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
	return problems;
}

async function newWatchedPage(ctx: BrowserContext): Promise<Page> {
	const p = await ctx.newPage();
	// Runs before the page's own scripts (through the DevTools protocol, not an inline script).
	await p.addInitScript(() => {
		(window as any).__csp = [];
		document.addEventListener("securitypolicyviolation", (e: any) =>
			(window as any).__csp.push(`${e.violatedDirective} ${e.blockedURI}`),
		);
	});
	return p;
}

async function signIn(p: Page, token: string) {
	await p.goto(`${cluster.srv.url}/`);
	await p.fill("#token", token);
	await p.click("form.sign-in button[type=submit]");
	await p.waitForSelector("h1:text('Projects')");
}

async function assertNoScriptRan(p: Page) {
	assert.equal(await p.evaluate(() => (window as any).__pwned), undefined, "a planted script ran");
	assert.deepEqual(await p.evaluate(() => (window as any).__csp), [], "CSP violations");
	assert.equal(await p.locator("img[src=x]").count(), 0, "planted markup became an element");
}

async function assertNoCriticalAxe(p: Page, name: string) {
	await p.evaluate(AXE);
	const violations = await p.evaluate(async () => {
		const r = await (window as any).axe.run(document, { resultTypes: ["violations"] });
		return r.violations.map((v: any) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
	});
	const critical = violations.filter((v: { impact: string }) => v.impact === "critical");
	assert.deepEqual(critical, [], `${name}: critical accessibility violations`);
}

const shot = (p: Page, name: string) =>
	p.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

describe("the web UI in Chromium", { skip: missing }, () => {
	let problems: string[];
	before(async () => {
		cluster = await startUiCluster();
		const { srv } = cluster;
		assert.equal(
			(await srv.api("POST", "/api/v1/projects", { key: "UI", name: "UI <b>project</b>" })).status,
			201,
		);
		const imported = await srv.api("POST", "/api/v1/projects/UI/import", {
			files: uiWorkflowFiles(cluster.gate),
		});
		assert.equal(imported.status, 200, JSON.stringify(imported.body));
		const run = await srv.api("POST", `${WF}/runs`, { commit: `fix: ${PAYLOAD}` });
		assert.equal(run.status, 201, JSON.stringify(run.body));
		browser = await launchChromium();
		context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
		page = await newWatchedPage(context);
		problems = watch(page);
	});
	after(async () => {
		await browser?.close();
		await cluster?.stop();
	});

	test("sign in: the token becomes an HttpOnly, SameSite=Strict cookie and is kept nowhere in the page", async () => {
		await signIn(page, cluster.srv.adminToken);
		const cookies = await context.cookies();
		const session = cookies.find((c) => c.name === "cds_session");
		assert.ok(session, "session cookie set");
		assert.equal(session.httpOnly, true);
		assert.equal(session.sameSite, "Strict");
		assert.notEqual(session.value, cluster.srv.adminToken);
		const stored = await page.evaluate(() => ({
			cookie: document.cookie,
			local: JSON.stringify({ ...localStorage }),
			session: JSON.stringify({ ...sessionStorage }),
			html: document.documentElement.outerHTML,
		}));
		assert.equal(stored.cookie.includes("cds_session"), false, "scripts cannot read the session");
		for (const v of [stored.local, stored.session, stored.html])
			assert.equal(v.includes(cluster.srv.adminToken), false);
		await page.waitForSelector("a[href='#/p/UI']");
		await shot(page, "01-projects");
	});

	test("a cookie-authenticated write without the CSRF header is refused", async () => {
		const status = await page.evaluate(async () => {
			const r = await fetch("/api/v1/projects", {
				method: "POST",
				headers: { "content-type": "application/json" },
				body: JSON.stringify({ key: "CSRF", name: "x" }),
			});
			return r.status;
		});
		assert.equal(status, 403);
	});

	test("a live run: a line written after the page opened and the new statuses appear without reload", async () => {
		// Wait until the build step is held at its gate (its first lines are stored).
		for (let i = 0; ; i++) {
			const logs = await cluster.srv.api("GET", `${WF}/runs/1/logs`);
			if (logs.body.items?.some((l: { text: string }) => l.text.includes("red"))) break;
			assert.ok(i < 600, "the build step never started");
			await new Promise((r) => setTimeout(r, 100));
		}
		await page.goto(`${cluster.srv.url}/#/p/UI/w/ui/r/1`);
		await page.waitForSelector('.graph .node[data-node="build"][data-status="Building"]');
		// The lint node's run condition is marked on it.
		const marks = page.locator('.graph .node[data-node="lint"] .marks');
		await marks
			.waitFor({ timeout: 10_000 })
			.catch(async () =>
				assert.fail(`no marks: ${await page.locator('.graph .node[data-node="lint"]').innerHTML()}`),
			);
		assert.match((await marks.textContent()) ?? "", /if$/);
		await page.waitForSelector(".log-row:has-text('compiling')");
		await page.evaluate(() => ((window as any).__sameDocument = true));
		assert.equal(await page.locator(".log-row:has-text('after the page opened')").count(), 0);
		await shot(page, "02-run-live");
		cluster.open();
		await page.waitForSelector(".log-row:has-text('after the page opened')", { timeout: 60_000 });
		await page.waitForSelector('.graph .node[data-node="build"][data-status="Success"]', { timeout: 60_000 });
		await page.waitForSelector('.graph .node[data-node="test"][data-status="Fail"]', { timeout: 60_000 });
		assert.equal(
			await page.evaluate(() => (window as any).__sameDocument),
			true,
			"the page was not reloaded",
		);
		// The join below the failed node never runs.
		await page.waitForSelector('.graph .node[data-node="deploy"][data-status="Skipped"]', {
			timeout: 60_000,
		});
		await shot(page, "03-run-done");
	});

	test("a failed step's log opens from the graph", async () => {
		await page.click('.graph .node[data-node="test"]');
		await page.waitForSelector("button.job.on[data-status='Fail']");
		// The worker's own step report says which step failed.
		await page.click("button.step.failed[data-status='Fail']");
		// The JUnit step fails the job (its quality gate): the steps after it never run.
		await page.waitForSelector(".log-row:has-text('quality gate failed')");
		await shot(page, "04-failed-step");
	});

	test("script payloads in a log line, a test name and a commit stay text", async () => {
		await page.click('.graph .node[data-node="build"]');
		await page.waitForSelector(".log-row:has-text('window.__pwned=2')");
		assert.match((await page.locator(".meta").textContent()) ?? "", /<img src=x/);
		const row = page.locator(".log-row:has-text('window.__pwned=2')").first();
		assert.ok(
			(await row.locator(".ansi-fg-1").count()) > 0,
			`the red ANSI line is coloured: ${await row.innerHTML()}`,
		);
		// The artifact a job uploaded (markup) is offered as a download, never rendered.
		const link = page.locator(".run-artifacts a:text('ui/page.html')");
		await link.waitFor();
		const download = await page.evaluate(
			async (href: string) => {
				const r = await fetch(href);
				return {
					status: r.status,
					type: r.headers.get("content-type"),
					disposition: r.headers.get("content-disposition"),
					body: await r.text(),
				};
			},
			(await link.getAttribute("href"))!,
		);
		assert.equal(download.status, 200);
		assert.match(download.type ?? "", /^application\/octet-stream/);
		assert.equal(download.disposition, 'attachment; filename="page.html"');
		assert.match(download.body, /window\.__pwned=2/);
		// Search finds the planted line and marks it.
		await page.fill("input[type=search]", "PWNED=2");
		await page.waitForSelector(".log-row.current:has-text('window.__pwned=2')");
		assert.equal(await page.locator(".log-tools [aria-live]").textContent(), "1 / 1");
		await assertNoScriptRan(page);
	});

	test("restart a node: a sub-run starts and the page follows it", async () => {
		await page.click('.graph .node[data-node="test"]');
		await page.click("button[data-action='Restart test']");
		await page.waitForSelector("h1:text('ui #1.1')", { timeout: 30_000 });
		const sub = await cluster.srv.api("GET", `${WF}/runs/1.1`);
		assert.equal(sub.status, 200);
		await page.waitForSelector('.graph .node[data-node="test"][data-status="Fail"]', { timeout: 60_000 });
		await assertNoCriticalAxe(page, "run page");
	});

	test("the runs list updates live and filters by status and who started; projects, hook events and templates pages", async () => {
		await page.goto(`${cluster.srv.url}/#/p/UI/w/ui`);
		await page.waitForSelector("tbody tr td a[href$='/r/1.1']");
		// A run started elsewhere appears, and its status changes, without reload.
		await page.evaluate(() => ((window as any).__sameRunsPage = true));
		assert.equal((await cluster.srv.api("POST", `${WF}/runs`, {})).status, 201);
		await page.waitForSelector("tbody tr[data-ref='2']");
		await page.waitForSelector("tbody tr[data-ref='2'] .badge.st-Fail", { timeout: 60_000 });
		assert.equal(await page.evaluate(() => (window as any).__sameRunsPage), true);
		await page.selectOption("#f-status", "Success");
		await page.waitForSelector("td.muted:text('No run matches.')");
		await shot(page, "06-runs");
		await page.selectOption("#f-status", "");
		await page.fill("#f-who", "someone-else");
		await page.click("form.filters button[type=submit]");
		await page.waitForSelector("td.muted:text('No run matches.')");
		await page.fill("#f-who", "");
		await page.click("form.filters button[type=submit]");
		await page.waitForSelector("tbody tr td a[href$='/r/1.1']");
		await page.goto(`${cluster.srv.url}/#/`);
		await page.waitForSelector("a[href='#/p/UI']");
		await assertNoCriticalAxe(page, "projects page");
		await page.goto(`${cluster.srv.url}/#/p/UI/hooks`);
		await page.waitForSelector("td.muted:text('No hook event yet.')");
		await assertNoCriticalAxe(page, "hook events page");
		await page.goto(`${cluster.srv.url}/#/templates`);
		await page.waitForSelector("td.muted:text('No template yet.')");
		await shot(page, "08-templates");
	});

	test("reports: a branch's run against its previous run and the default branch — new failures, coverage deltas, severities, trends", async () => {
		const { srv } = cluster;
		// Runs 1 and 2 (default branch) reported phase 1; then a branch run, a default-branch run
		// and the branch's second run, each with its own reports. The workflow is imported (not as
		// code), so a branch run uses the default branch's definition with `git.branch` set, as CDS's
		// `-p git.branch=…` does.
		const runOnce = async (phase: number, branch?: string) => {
			writeReports(cluster.gate, phase);
			const created = await srv.api("POST", `${WF}/runs`, branch ? { params: { "git.branch": branch } } : {});
			assert.equal(created.status, 201, JSON.stringify(created.body));
			const number = created.body.number;
			for (let i = 0; ; i++) {
				const run = await srv.api("GET", `${WF}/runs/${number}`);
				if (["Success", "Fail", "Stopped"].includes(run.body.status)) return number as number;
				assert.ok(i < 600, `run ${number} never ended (${run.body.status})`);
				await new Promise((r) => setTimeout(r, 100));
			}
		};
		assert.equal(await runOnce(2, "feature/ui"), 3);
		assert.equal(await runOnce(3), 4);
		assert.equal(await runOnce(4, "feature/ui"), 5);
		const latest = await srv.api("GET", `${WF}/reports`);
		const defaultBranch = latest.body.defaultBranch;
		assert.notEqual(defaultBranch, "feature/ui");

		await page.goto(`${cluster.srv.url}/#/p/UI/w/ui/reports`);
		await page.waitForSelector(".report-tests li.case");
		assert.equal(await page.locator("section > p.muted").first().textContent(), "Run #5 on feature/ui");
		// One report of each kind, each saying where it came from.
		for (const kind of ["tests", "coverage", "analysis", "security"])
			assert.equal(await page.locator(`article.report[data-kind=${kind}]`).count(), 1, kind);
		assert.match(
			(await page.locator(".report-tests .report-origin").textContent()) ?? "",
			/^from node test · run #5 · job \d+, attempt \d+$/,
		);

		// Tests: failures first, the planted name as text, the newly failing test marked "new" and only it.
		const cases = page.locator(".report-tests li.case");
		assert.equal(await cases.count(), 3);
		assert.match((await cases.nth(0).getAttribute("class")) ?? "", /case-failed/);
		assert.match((await cases.nth(1).getAttribute("class")) ?? "", /case-failed/);
		assert.match((await cases.nth(2).getAttribute("class")) ?? "", /case-passed/);
		const marked = page.locator(".report-tests li.case:has(.badge.new)");
		assert.equal(await marked.count(), 1);
		assert.match((await marked.locator(".case-name").textContent()) ?? "", /regresses$/);
		assert.equal(await marked.locator(".badge.new").getAttribute("title"), "failing since #3");
		assert.ok(
			(await page.locator(".report-tests li.case:has-text('renders <img src=x onerror=')").count()) === 1,
			"the planted test name is shown as text",
		);

		// Coverage: 50 % now, −20 points against the branch's run #3 (70 %), −30 against the default branch (80 %).
		await page.waitForSelector(".report-coverage tbody tr");
		const lines = page.locator(".report-coverage tbody tr:has(td:text-is('lines')) td");
		assert.deepEqual(await lines.allTextContents(), [
			"lines",
			"50 % (5/10)",
			"-20 (#3)",
			`-30 (${defaultBranch})`,
		]);

		// Analysis and security by severity, with what is new against the previous run.
		await page.waitForSelector(".report-security .severities li");
		const sev = async (kind: string): Promise<Record<string, string>> => {
			await page.waitForSelector(`.report-${kind} .severities li`);
			const items = await page.locator(`.report-${kind} .severities li`).all();
			return Object.fromEntries(
				await Promise.all(
					items.map(async (li) => [await li.getAttribute("data-severity"), await li.textContent()]),
				),
			);
		};
		const security = await sev("security");
		assert.equal(security.critical, "critical: 1 (1 new)");
		assert.equal(security.high, "high: 1");
		assert.equal(security.low, "low: 1");
		const analysis = await sev("analysis");
		// ESLint's error (2) reads as high, its warning (1) as medium.
		assert.equal(analysis.high, "high: 1 (1 new)", JSON.stringify(analysis));
		assert.equal(analysis.medium, "medium: 1", JSON.stringify(analysis));
		assert.ok(
			(await page.locator(".report-security li:has-text('CVE-2024-0003 in lodash <img src=x')").count()) ===
				1,
			"the planted vulnerability title is shown as text",
		);

		// Trends: one point per run, values read from the chart's titles.
		const titles = async (kind: string) => {
			await page.waitForSelector(`svg.trend[data-kind=${kind}] circle`);
			return page.locator(`svg.trend[data-kind=${kind}] circle title`).allTextContents();
		};
		const coverage = await titles("coverage");
		assert.equal(coverage.length, 5, JSON.stringify(coverage));
		assert.deepEqual(coverage, ["#1: 60", "#2: 60", "#3: 70", "#4: 80", "#5: 50"]);
		const failures = await titles("tests");
		assert.equal(failures.length, 5, JSON.stringify(failures));
		// Run 1's restarted node (1.1) replaces its first report in the point: 1 failure, not 2.
		assert.deepEqual(failures, ["#1: 1", "#2: 1", "#3: 1", "#4: 1", "#5: 2"]);
		const vulnerabilities = await titles("security");
		assert.deepEqual(vulnerabilities, ["#1: 2", "#2: 2", "#3: 2", "#4: 2", "#5: 3"]);
		await shot(page, "05-reports");
		await assertNoScriptRan(page);
		await assertNoCriticalAxe(page, "reports page");
	});

	test("a read-only token sees the run but no action; sign-out ends the session", async () => {
		const token = (await cluster.srv.api("POST", "/api/v1/auth/tokens", { project: "UI", role: "read" })).body
			.token;
		const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
		const p = await newWatchedPage(ctx);
		await signIn(p, token);
		await p.goto(`${cluster.srv.url}/#/p/UI/w/ui/r/1`);
		await p.waitForSelector('.graph .node[data-node="test"]');
		await p.waitForSelector(".live:text('ended')");
		assert.equal(await p.locator("[data-action]").count(), 0);
		await p.click("button:text('Sign out')");
		await p.waitForSelector("form.sign-in");
		const status = await p.evaluate(async () => (await fetch("/api/v1/projects")).status);
		assert.equal(status, 401);
		await ctx.close();
	});

	test("a narrow (mobile) viewport: the run page fits its width", async () => {
		const ctx = await browser.newContext({
			viewport: { width: 390, height: 844 },
			isMobile: true,
			hasTouch: true,
		});
		const p = await newWatchedPage(ctx);
		await signIn(p, cluster.srv.adminToken);
		await p.goto(`${cluster.srv.url}/#/p/UI/w/ui/r/1`);
		await p.waitForSelector(".log-row");
		const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
		assert.ok(overflow <= 1, `the page is ${overflow}px wider than the viewport`);
		await shot(p, "07-mobile-run");
		await ctx.close();
	});

	test("no page error on the way", () => {
		assert.deepEqual(problems, []);
	});
});
