// Every listing of the OpenAPI document answers `{items, next}` and its cursor works: each
// list-returning GET is walked one item per page by following `next`, and the walk must give
// exactly the items of one large page, none missed, none repeated — also when items are
// inserted between two pages. Generic over the document: a GET that answers a bare array or an
// `{items}` without `next` fails, and a new listing fails until the fixture below gives it two
// items (so that its walk goes past `limit`).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { MAX_PAGE } from "../../src/api/pagination.ts";
import { eventDoc, type HookEventDoc, SHARDS } from "../../src/hooks/events.ts";
import { bookAll, type BookedJob } from "../helpers/scripted-worker.ts";
import { ALLOW_LOCAL_REPOSITORIES, startTestServer, type TestServer } from "../helpers/server.ts";
import { mongoUrlFor, uniqueDbName } from "../helpers/servers.ts";

const KEY = "ALPHA";
const WORKFLOW = "app";
const APPLICATION = "web";
const TAG = "bin";
/** Values of the path parameters of the listings (the fixture makes each exist). */
const PATH_VALUES: Record<string, string> = {
	key: KEY,
	name: WORKFLOW,
	number: "1",
	application: APPLICATION,
	tag: TAG,
};

const PIPELINE = "version: v1.0\nname: build\njobs:\n- job: compile\n  steps:\n  - script:\n    - echo hi\n";
const PIPELINE2 = PIPELINE.replace("name: build", "name: deploy");
const workflowFile = (name: string) => `name: ${name}\nversion: v1.0\npipeline: build\n`;

let srv: TestServer;
let work: string;
let job: BookedJob;

async function ok(method: string, route: string, body?: unknown, api = srv.api) {
	const r = await api(method, route, body);
	assert.ok(r.status >= 200 && r.status < 300, `${method} ${route} → ${r.status} ${JSON.stringify(r.body)}`);
	return r.body;
}

/** Two items (at least) in every listing of the document. */
async function fixture() {
	const P = `/api/v1/projects/${KEY}`;
	for (const key of [KEY, "BETA"]) await ok("POST", "/api/v1/projects", { key, name: key });
	for (const role of ["read", "write"]) await ok("POST", "/api/v1/auth/tokens", { project: KEY, role });
	for (const name of ["v1", "v2"]) await ok("POST", `${P}/variables`, { name, type: "string", value: name });
	for (const name of [APPLICATION, "api"]) await ok("POST", `${P}/applications`, { name });
	for (const name of ["prod", "staging"]) await ok("POST", `${P}/environments`, { name });
	await ok("POST", `${P}/import`, {
		files: [
			{ path: "build.pip.yml", content: PIPELINE },
			{ path: "deploy.pip.yml", content: PIPELINE2 },
			{ path: `${WORKFLOW}.yml`, content: workflowFile(WORKFLOW) },
			{ path: "other.yml", content: workflowFile("other") },
		],
	});
	for (const hour of [1, 2])
		await ok("POST", `${P}/workflows/${WORKFLOW}/schedules`, { cron: `0 ${hour} * * *` });
	for (let i = 0; i < 2; i++) await ok("POST", `${P}/workflows/${WORKFLOW}/runs`, {});
	// Run 1's job, played over HTTP: two log lines, two artifacts, two cache files, two reports.
	[job] = await bookAll(srv.server.broker, srv.url);
	assert.ok(job, "no job to book");
	assert.equal((await job.api("GET", "/api/v1/worker/job")).status, 200);
	await ok(
		"POST",
		"/api/v1/worker/job/logs",
		{
			entries: [
				{ step: 0, seq: 0, text: "one\n" },
				{ step: 0, seq: 1, text: "two\n" },
			],
		},
		job.api,
	);
	const put = (route: string, content: string) =>
		fetch(`${srv.url}/api/v1/worker/${route}`, {
			method: "PUT",
			headers: { authorization: `Bearer ${job.token}`, "content-type": "application/octet-stream" },
			body: content,
		}).then(async (r) => assert.ok(r.status < 300, `PUT ${route} → ${r.status} ${await r.text()}`));
	for (const name of ["a.txt", "b.txt"]) {
		await put(`artifacts/${TAG}/${name}`, name);
		await put(`cache/${TAG}/${name}`, name);
	}
	for (const suite of ["first", "second"])
		await put(
			`reports/tests/${suite}.xml`,
			`<testsuite name="${suite}" tests="1"><testcase classname="c" name="${suite}"/></testsuite>`,
		);
	for (const vulnerability of ["CVE-2024-0001", "CVE-2024-0002"])
		await ok("POST", `${P}/applications/${APPLICATION}/vulnerability-ignores`, {
			vulnerability,
			reason: "not reachable",
			expires: "30d",
		});
	// Integrations (the built-in models list two or more), plugins, template repositories.
	const models = (await ok("GET", `/api/v1/integration-models?limit=${MAX_PAGE}`)).items as Array<{
		name: string;
		builtin: boolean;
	}>;
	assert.ok(models.length >= 2, JSON.stringify(models));
	for (const name of ["int1", "int2"])
		await ok("POST", `${P}/integrations`, { name, model: models[0]!.name, config: {} });
	for (const name of ["plug-a", "plug-b"])
		await ok("POST", "/api/v1/admin/plugins", {
			manifest: `name: ${name}\ntype: action\nauthor: a\ndescription: d\n`,
		});
	for (const name of ["repo-a", "repo-b"]) await ok("POST", "/api/v1/templates/repos", { name });
	// Repository managers and two linked repositories (local bare ones, polled).
	for (const name of ["local", "local2"])
		await ok("POST", `${P}/repositories/managers`, { name, type: "git" });
	for (const name of ["one", "two"]) {
		execFileSync("git", ["init", "--quiet", "--bare", path.join(work, `${name}.git`)]);
		await ok("POST", `${P}/repositories`, {
			manager: "local",
			url: path.join(work, `${name}.git`),
			application: `repo-${name}`,
			pollSeconds: 3600,
		});
	}
	// What only a template download or a git push makes: stored as the services store it.
	const store = srv.server.store;
	const entries = await store.collection({ name: "template_entries", indexes: [{ fields: ["repo"] }] });
	const instances = await store.collection({
		name: "template_instances",
		indexes: [{ fields: ["project"] }],
	});
	const at = new Date().toISOString();
	for (const name of ["tpl-a", "tpl-b"]) {
		const url = `https://templates.example/${name}.tar.gz`;
		await entries.insert({
			_id: `repo-a/${name}`,
			repo: "repo-a",
			name,
			description: "",
			url,
			origin: "manual",
			created: at,
			updated: at,
		});
		await instances.insert({
			_id: `${KEY}/${name}`,
			project: KEY,
			id: name === "tpl-a" ? 1 : 2,
			workflow: name,
			template: `repo-a/${name}`,
			version: 1,
			params: {},
			files: [],
			created: at,
			updated: at,
		});
	}
	await insertHookEvents(["e1", "e2", "e3"], 1_700_000_000_000);
	// Dead letters (GET …/hooks/dead-letters): events the processor gave up on.
	await insertHookEvents(["d1", "d2", "d3"], 1_700_000_000_000, { state: "dead", deadReason: "permanent" });
}

/** Hook events as the intake stores them, spread over the shards, two in the same millisecond. */
async function insertHookEvents(ids: string[], receivedAt: number, fields: Partial<HookEventDoc> = {}) {
	for (const [i, id] of ids.entries()) {
		const shard = await srv.server.store.collection({ name: `hook_events_${i % SHARDS}` });
		await shard.insert({
			...eventDoc(id, "webhook", { project: KEY, intents: [] }, receivedAt + (i === 1 ? 0 : i)),
			...fields,
		});
	}
}

interface Listing {
	route: string;
	/** The largest `limit` the route documents. */
	max: number;
	/** The token the route takes (a worker route takes the job's). */
	api: TestServer["api"];
}

function concrete(pathTemplate: string): string {
	return pathTemplate.replace(/\{([^}]+)\}/g, (_, name: string) => {
		const value = PATH_VALUES[name];
		assert.ok(value, `no fixture value for the path parameter {${name}} of ${pathTemplate}`);
		return encodeURIComponent(value);
	});
}

async function documentedGets(): Promise<Array<{ path: string; op: any }>> {
	const doc = (await srv.api("GET", "/api/v1/openapi.json")).body;
	return Object.entries<any>(doc.paths)
		.filter(([, methods]) => methods.get)
		.map(([p, methods]) => ({ path: p, op: methods.get }));
}

const isListing = (op: any) =>
	["limit", "cursor"].every((n) => (op.parameters ?? []).some((p: any) => p.in === "query" && p.name === n));

function listingOf(pathTemplate: string, op: any): Listing {
	const api = op["x-cds-permission"]?.level === "worker" ? job.api : srv.api;
	const limit = (op.parameters ?? []).find((p: any) => p.in === "query" && p.name === "limit");
	if (isListing(op))
		assert.ok(Number.isInteger(limit?.schema?.maximum), `${pathTemplate}: limit has no documented maximum`);
	return { route: `/api/v1${concrete(pathTemplate)}`, api, max: limit?.schema?.maximum ?? MAX_PAGE };
}

/** Follows `next` from the first page; `between` runs after each page (to insert items). */
async function walk(listing: Listing, limit: number, between?: (page: number) => Promise<void>) {
	const items: string[] = [];
	let cursor: string | null = null;
	let pages = 0;
	do {
		const sep = listing.route.includes("?") ? "&" : "?";
		const url: string = `${listing.route}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
		const r = await listing.api("GET", url);
		assert.equal(r.status, 200, `${url} → ${r.status} ${JSON.stringify(r.body)}`);
		assert.ok(Array.isArray(r.body.items), `${url}: no items array`);
		assert.ok("next" in r.body, `${url}: no next`);
		assert.ok(r.body.items.length <= limit, `${url}: ${r.body.items.length} items for limit ${limit}`);
		// A live tail (run logs: `done: false`) hands a cursor to wait on even after a short page;
		// the walk ends at its first empty page.
		const live = r.body.done === false;
		assert.ok(
			r.body.next === null || live || r.body.items.length === limit,
			`${url}: a short page with a next`,
		);
		items.push(...r.body.items.map((item: unknown) => JSON.stringify(item)));
		cursor = live && r.body.items.length === 0 ? null : r.body.next;
		pages++;
		assert.ok(pages <= 1000, `${url}: the walk does not end`);
		await between?.(pages);
	} while (cursor);
	return { items, pages };
}

describe("listings: {items, next} with working cursors on every list route", () => {
	before(async () => {
		work = mkdtempSync(path.join(tmpdir(), "cds-listings-"));
		const env: Record<string, string> = {
			...ALLOW_LOCAL_REPOSITORIES,
			// No hatchery: the test books the job itself; no poller tick during the test.
			SERVICES: "api,auth,project,workflow,run,hook,repository,template,report",
		};
		if (process.env.MONGO_URL)
			env.MONGO_URL = mongoUrlFor(process.env.MONGO_URL, uniqueDbName("listings_it"));
		srv = await startTestServer(env);
		await fixture();
	});
	after(async () => {
		await srv?.stop();
		if (work) rmSync(work, { recursive: true, force: true });
	});

	test("no GET of the document answers a bare array, and every {items} answer is a listing", async () => {
		for (const { path: p, op } of await documentedGets()) {
			if ((op.parameters ?? []).some((x: any) => x.in === "path" && !PATH_VALUES[x.name])) continue;
			const { route, api } = listingOf(p, op);
			const r = await api("GET", route);
			if (r.status !== 200) continue;
			assert.ok(!Array.isArray(r.body), `GET ${route} answers a bare array`);
			if (r.body && typeof r.body === "object" && Array.isArray(r.body.items)) {
				assert.ok(isListing(op), `GET ${p} answers {items} but takes no ?limit&cursor`);
				assert.ok("next" in r.body, `GET ${route} answers {items} without next`);
			}
		}
	});

	test("every listing, walked one item a page, gives each item once, as one page does", async () => {
		const listings = (await documentedGets()).filter(({ op }) => isListing(op));
		assert.ok(listings.length >= 20, `only ${listings.length} listings documented`);
		const shallow: string[] = [];
		for (const { path: p, op } of listings) {
			const listing = listingOf(p, op);
			const whole = await walk(listing, listing.max);
			assert.ok(
				whole.items.length < listing.max,
				`${listing.route}: ${listing.max} items or more in the fixture`,
			);
			const paged = await walk(listing, 1);
			assert.equal(new Set(paged.items).size, paged.items.length, `${listing.route}: an item served twice`);
			assert.deepEqual(paged.items, whole.items, `${listing.route}: pages differ from one page`);
			if (paged.items.length < 2) shallow.push(`${p} (${paged.items.length} items)`);
		}
		// Two items at least, so that each walk followed a `next`: a new listing needs a fixture.
		assert.deepEqual(shallow, [], "listings the fixture does not fill with two items");
	});

	test("limit and cursor are validated: 422 for a bad one, and a cursor of one page works once more", async () => {
		for (const { path: p, op } of (await documentedGets()).filter(({ op }) => isListing(op))) {
			const { route, api, max } = listingOf(p, op);
			const sep = route.includes("?") ? "&" : "?";
			for (const bad of [
				"limit=0",
				`limit=${max + 1}`,
				"limit=abc",
				"limit=-1",
				"cursor=%%%",
				"cursor=bm90LWpzb24",
			]) {
				const r = await api("GET", `${route}${sep}${bad}`);
				assert.equal(r.status, 422, `GET ${route}${sep}${bad} → ${r.status} ${JSON.stringify(r.body)}`);
			}
			const first = (await api("GET", `${route}${sep}limit=1`)).body;
			const again = await api("GET", `${route}${sep}limit=1&cursor=${encodeURIComponent(first.next)}`);
			const twice = await api("GET", `${route}${sep}limit=1&cursor=${encodeURIComponent(first.next)}`);
			assert.equal(again.status, 200);
			assert.deepEqual(twice.body, again.body, `${route}: the same cursor answers differently`);
		}
	});

	test("items inserted during a walk neither repeat nor hide the items already there", async () => {
		const P = `/api/v1/projects/${KEY}`;
		const cases: Array<{ route: string; insert: (page: number) => Promise<void> }> = [
			{
				route: `${P}/workflows/${WORKFLOW}/runs`,
				insert: async () => void (await ok("POST", `${P}/workflows/${WORKFLOW}/runs`, {})),
			},
			{
				route: `${P}/variables`,
				insert: async (page) =>
					void (await ok("POST", `${P}/variables`, { name: `a${page}`, type: "string", value: "x" })),
			},
			{
				route: `${P}/hooks/events`,
				insert: (page) => insertHookEvents([`new-${page}`], Date.now()),
			},
			{
				route: `${P}/workflows/${WORKFLOW}/schedules`,
				insert: async (page) =>
					void (await ok("POST", `${P}/workflows/${WORKFLOW}/schedules`, { cron: `${page} 3 * * *` })),
			},
		];
		for (const { route, insert } of cases) {
			const listing = { route, api: srv.api, max: MAX_PAGE };
			const before = (await walk(listing, MAX_PAGE)).items;
			// One insert after the first page (an insert per page could outgrow an oldest-first walk).
			const during = await walk(listing, 1, (page) => (page === 1 ? insert(page) : Promise.resolve()));
			assert.equal(new Set(during.items).size, during.items.length, `${route}: an item served twice`);
			// Runs change as they go (queued → building): compare what identifies each item.
			const ids = (list: string[]) => list.map((s) => JSON.stringify(idOf(JSON.parse(s))));
			const seen = new Set(ids(during.items));
			for (const id of ids(before)) assert.ok(seen.has(id), `${route}: ${id} was skipped`);
		}
	});
});

function idOf(item: Record<string, unknown>): unknown {
	return item.id ?? item.number ?? item.name ?? item;
}
