// The OpenAPI document says what the API really accepts and answers: fuzzers (the api-fuzz CI
// phase) generate their requests from it, so a document stricter or looser than the validator
// makes them test the wrong thing.

import assert from "node:assert/strict";
import { test } from "node:test";
import { buildOpenApiDocument, type RouteDescription } from "../../src/api/openapi.ts";

const INFO = { title: "t", version: "1", serverUrl: "http://x/api/v1" };

function operation(route: RouteDescription): any {
	const doc = buildOpenApiDocument([route], INFO) as any;
	const openApiPath = route.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
	return doc.paths[openApiPath][route.method.toLowerCase()];
}

test("optional body fields may be null; a required 'any' may not", () => {
	const op = operation({
		action: "x.create",
		method: "POST",
		path: "/things",
		params: {
			name: { type: "string", max: 10 },
			note: { type: "string", optional: true },
			value: "any",
			extra: { type: "any", optional: true },
			repo: { type: "object", optional: true, nullable: true, props: { url: "string" } },
		},
	});
	const body = op.requestBody.content["application/json"].schema;
	assert.deepEqual(body.required, ["name", "value"]);
	assert.equal(body.properties.name.nullable, undefined);
	assert.equal(body.properties.note.nullable, true);
	assert.equal(body.properties.repo.nullable, true);
	assert.deepEqual(
		body.properties.value.anyOf.map((s: { type: string }) => s.type),
		["string", "number", "boolean", "object", "array"],
	);
	assert.equal(body.properties.extra.anyOf, undefined);
});

test("the answers a JSON-body POST can give are documented: 201, 400, 409, 413", () => {
	const op = operation({
		action: "x.create",
		method: "POST",
		path: "/things",
		params: { name: "string" },
	});
	for (const code of ["200", "201", "400", "401", "403", "404", "409", "413", "422"])
		assert.ok(op.responses[code], `${code} documented`);
	const get = operation({ action: "x.get", method: "GET", path: "/things/:id", params: {} });
	for (const code of ["201", "400", "409", "413"]) assert.equal(get.responses[code], undefined, code);
});

test("a streamed upload takes a raw body, not a JSON object", () => {
	const op = operation({
		action: "worker.putArtifact",
		method: "PUT",
		path: "/worker/artifacts/:tag/:name",
		params: {},
		stream: true,
	});
	assert.deepEqual(Object.keys(op.requestBody.content), ["application/octet-stream"]);
	assert.deepEqual(
		op.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`),
		["path:tag", "path:name"],
	);
	assert.ok(op.responses["413"]);
});
