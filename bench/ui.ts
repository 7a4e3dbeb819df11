// npm run bench:ui — the web UI's speed in Debian's chromium (playwright-core, as the browser
// suite): first contentful paint of a run page, opening a 10,000-line log (navigation → the last
// line drawn), a 200-node workflow page (navigation → every node drawn), and the bundle the
// browser loads (bytes, raw and gzip). Each timing is the median of BENCH_UI_REPEAT (5) page loads.
// Targets: under 1 s each (issue #19). Prints one JSON document.

import { gzipSync } from "node:zlib";
import { hostEnv } from "../config/process-env.ts";
import { launchChromium } from "../test/browser/chromium.ts";
import { startUiCluster } from "../test/browser/fixture.ts";

const host = hostEnv();
const REPEAT = Number(host.BENCH_UI_REPEAT ?? 5);
const LINES = 10_000;
const NODES = 200;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const round = (n: number) => Math.round(n * 10) / 10;

const cluster = await startUiCluster();
const { srv } = cluster;
cluster.open();
const browser = await launchChromium();
try {
	await srv.api("POST", "/api/v1/projects", { key: "BENCH", name: "bench" });
	const step = (name: string, lines: string[]) =>
		`version: v1.0\nname: ${name}\njobs:\n- job: ${name}\n  steps:\n  - script:\n${lines.map((l) => `    - '${l.replaceAll("'", "''")}'`).join("\n")}\n`;
	const nodes = Array.from({ length: NODES }, (_, i) =>
		i === 0
			? "  n0:\n    pipeline: quiet"
			: `  n${i}:\n    pipeline: quiet\n    depends_on: [n${Math.floor((i - 1) / 3)}]`,
	);
	const files = [
		{ path: "logs.yml", content: "name: logs\nversion: v2.0\nworkflow:\n  print:\n    pipeline: print\n" },
		{
			path: "print.pip.yml",
			content: step("print", [
				`for i in $(seq 1 ${LINES}); do printf '\\033[3%dmline %d\\033[0m of the log\\n' $((i % 8)) $i; done`,
			]),
		},
		{ path: "big.yml", content: `name: big\nversion: v2.0\nworkflow:\n${nodes.join("\n")}\n` },
		{ path: "quiet.pip.yml", content: step("quiet", ["true"]) },
	];
	const imported = await srv.api("POST", "/api/v1/projects/BENCH/import", { files });
	if (imported.status !== 200) throw new Error(`import: ${JSON.stringify(imported.body)}`);
	await srv.api("POST", "/api/v1/projects/BENCH/workflows/logs/runs", {});
	for (let i = 0; ; i++) {
		const run = (await srv.api("GET", "/api/v1/projects/BENCH/workflows/logs/runs/1")).body;
		if (run.status === "Success") break;
		if (i > 1200 || run.status === "Fail") throw new Error(`the log run ended ${run.status}`);
		await new Promise((r) => setTimeout(r, 100));
	}

	const signIn = await fetch(`${srv.url}/api/v1/ui/session`, {
		method: "POST",
		headers: { "content-type": "application/json" },
		body: JSON.stringify({ token: srv.adminToken }),
	});
	const session = /cds_session=([^;]+)/.exec(signIn.headers.get("set-cookie") ?? "")![1]!;
	const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
	await context.addCookies([
		{ name: "cds_session", value: session, url: srv.url, httpOnly: true, sameSite: "Strict" },
	]);

	/** Navigation start → `selector` present, and the page's first contentful paint. */
	const load = async (hash: string, selector: string) => {
		const page = await context.newPage();
		await page.goto(`${srv.url}/${hash}`, { waitUntil: "commit" });
		await page.waitForSelector(selector, { timeout: 60_000 });
		const ready = await page.evaluate(() => performance.now());
		await page.waitForFunction(() => performance.getEntriesByName("first-contentful-paint").length > 0);
		const fcp = await page.evaluate(
			() => performance.getEntriesByName("first-contentful-paint")[0]!.startTime,
		);
		await page.close();
		return { ready, fcp };
	};
	const runPage: number[] = [];
	const logOpen: number[] = [];
	const bigGraph: number[] = [];
	for (let i = 0; i < REPEAT; i++) {
		const r = await load("#/p/BENCH/w/logs/r/1", `.log-row .ln:text-is("${LINES}")`);
		runPage.push(r.fcp);
		logOpen.push(r.ready);
		bigGraph.push((await load("#/p/BENCH/w/big", `.graph .node[data-node="n${NODES - 1}"]`)).ready);
	}

	// What the browser loads for the UI: the page, the stylesheet, every module.
	const assets = ["/", "/ui/app.css", "/ui/favicon.svg"];
	const seen = new Set<string>();
	const queue = ["/ui/app.js"];
	while (queue.length) {
		const url = queue.shift()!;
		if (seen.has(url)) continue;
		seen.add(url);
		const text = await (await fetch(`${srv.url}${url}`)).text();
		for (const m of text.matchAll(/from\s+"([^"]+\.js)"/g))
			queue.push(new URL(m[1]!, `${srv.url}${url}`).pathname);
	}
	let raw = 0;
	let gzip = 0;
	for (const url of [...assets, ...seen]) {
		const body = Buffer.from(await (await fetch(`${srv.url}${url}`)).arrayBuffer());
		raw += body.length;
		gzip += gzipSync(body).length;
	}
	console.log(
		JSON.stringify(
			{
				repeat: REPEAT,
				runPageFirstContentfulPaintMs: round(median(runPage)),
				log10kLinesOpenMs: round(median(logOpen)),
				workflow200NodesMs: round(median(bigGraph)),
				bundle: { files: assets.length + seen.size, bytes: raw, gzipBytes: gzip },
				targetMs: 1000,
			},
			null,
			2,
		),
	);
} finally {
	await browser.close();
	await cluster.stop();
}
