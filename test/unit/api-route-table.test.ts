// The routes the gateway knows from the services' schemas, built the way moleculer-web's
// auto-aliases build them, and matched without the services running.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { matchRoute, restRoutes } from "../../src/api/route-table.ts";

const schemas = [
	{
		name: "run",
		settings: { rest: "/projects" },
		actions: {
			list: { rest: "GET /:key/workflows/:name/runs" },
			create: { rest: "POST /:key/workflows/:name/runs" },
			queueFor: { handler() {} },
			hidden: { rest: "GET /:key/hidden", visibility: "public" },
		},
	},
	{
		name: "worker",
		actions: {
			result: { rest: { method: "POST", basePath: "/worker", path: "/job/result" } },
			steps: { rest: { method: "POST", basePath: "/worker", path: "/job/steps/:index" } },
		},
	},
	{
		name: "report",
		mixins: [{ actions: { ping: { rest: "/ping" } } }],
		actions: { summary: { rest: ["GET /reports/:id", "GET /reports/:id/summary"] } },
	},
];

describe("restRoutes", () => {
	const routes = restRoutes(schemas, "/api/v1");

	test("base path from settings.rest, the service name, or the route's own basePath", () => {
		assert.deepEqual(
			routes.map((r) => `${r.method} ${r.path} ${r.action}`),
			[
				"GET /api/v1/projects/:key/workflows/:name/runs run.list",
				"POST /api/v1/projects/:key/workflows/:name/runs run.create",
				"POST /api/v1/worker/job/result worker.result",
				"POST /api/v1/worker/job/steps/:index worker.steps",
				"* /api/v1/report/ping report.ping",
				"GET /api/v1/report/reports/:id report.summary",
				"GET /api/v1/report/reports/:id/summary report.summary",
			],
		);
	});

	test("a path matches its method and each parameter one non-empty segment", () => {
		assert.equal(matchRoute(routes, "get", "/api/v1/projects/DEMO/workflows/W/runs")?.action, "run.list");
		assert.equal(matchRoute(routes, "POST", "/api/v1/projects/DEMO/workflows/W/runs/")?.action, "run.create");
		assert.equal(matchRoute(routes, "POST", "/api/v1/worker/job/steps/3")?.action, "worker.steps");
		assert.equal(matchRoute(routes, "DELETE", "/api/v1/report/ping")?.action, "report.ping");
		assert.equal(matchRoute(routes, "DELETE", "/api/v1/projects/DEMO/workflows/W/runs"), undefined);
		assert.equal(matchRoute(routes, "GET", "/api/v1/projects/DEMO/workflows//runs"), undefined);
		assert.equal(matchRoute(routes, "GET", "/api/v1/projects/DEMO/hidden"), undefined, "not published");
		assert.equal(matchRoute(routes, "POST", "/api/v1/worker/job/results"), undefined);
		assert.equal(matchRoute(routes, "GET", "/api/v1/nothing/here"), undefined);
	});
});
