// The node:http transport `cds run` gives its ApiClient behaves as the default fetch one: the
// same answers, errors, refused connections and timeouts, through the same ApiClient.

import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { createServer as createTcpServer, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { ApiError, CliFailure } from "../../src/cli/errors.ts";
import { ApiClient, fetchSend, type HttpSend } from "../../src/cli/http.ts";
import { nodeHttpSend } from "../../src/cli/node-http.ts";

let api: Server;
let apiUrl = "";
const seen: Array<{ method?: string; url?: string; auth?: string; body: string }> = [];
let closedPort = 0;
let silentPort = 0;
const silent = createTcpServer((socket) => sockets.add(socket));
const sockets = new Set<Socket>();

function portOf(server: { address(): unknown }): number {
	return (server.address() as { port: number }).port;
}

before(async () => {
	api = createServer((req, res) => {
		let body = "";
		req.on("data", (chunk) => {
			body += chunk;
		});
		req.on("end", () => {
			seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
			if (req.url?.startsWith("/api/v1/missing")) {
				res.writeHead(404, { "content-type": "application/json" });
				res.end(JSON.stringify({ type: "NOT_FOUND", message: "no such thing" }));
				return;
			}
			res.writeHead(req.method === "POST" ? 201 : 200, { "content-type": "application/json" });
			res.end(JSON.stringify({ echo: body ? JSON.parse(body) : null, query: req.url?.split("?")[1] ?? "" }));
		});
	});
	await new Promise<void>((done) => api.listen(0, "127.0.0.1", done));
	apiUrl = `http://127.0.0.1:${portOf(api)}`;
	const probe = createTcpServer();
	await new Promise<void>((done) => probe.listen(0, "127.0.0.1", done));
	closedPort = portOf(probe);
	await new Promise((done) => probe.close(done));
	await new Promise<void>((done) => silent.listen(0, "127.0.0.1", done));
	silentPort = portOf(silent);
});

after(() => {
	api.close();
	for (const socket of sockets) socket.destroy();
	silent.close();
});

for (const [name, send] of [
	["fetch", fetchSend],
	["node:http", nodeHttpSend],
] as Array<[string, HttpSend]>) {
	describe(`ApiClient over ${name}`, () => {
		const client = (url = apiUrl, timeoutMs = 5000) =>
			new ApiClient({ apiUrl: url, token: "tok", timeoutMs, send });

		test("sends the token and a JSON body, and reads the JSON answer", async () => {
			seen.length = 0;
			const answer = await client().post<{ echo: unknown }>("/projects", { key: "P", name: "é" });
			assert.deepEqual(answer.echo, { key: "P", name: "é" });
			assert.deepEqual(seen, [
				{ method: "POST", url: "/api/v1/projects", auth: "Bearer tok", body: '{"key":"P","name":"é"}' },
			]);
			const got = await client().get<{ query: string }>("/projects", { limit: 2 });
			assert.equal(got.query, "limit=2");
		});

		test("an error answer is an ApiError with the server's type and message", async () => {
			await assert.rejects(client().get("/missing"), (err: unknown) => {
				assert.ok(err instanceof ApiError);
				assert.equal(err.status, 404);
				assert.equal(err.type, "NOT_FOUND");
				assert.equal(err.message, "no such thing");
				return true;
			});
		});

		test("a refused connection and a silent server are CliFailures that say so", async () => {
			await assert.rejects(client(`http://127.0.0.1:${closedPort}`).get("/projects"), (err: unknown) => {
				assert.ok(err instanceof CliFailure);
				assert.match(err.message, /cannot reach the CDS API at .*: ECONNREFUSED$/);
				return true;
			});
			await assert.rejects(client(`http://127.0.0.1:${silentPort}`, 200).get("/projects"), (err: unknown) => {
				assert.ok(err instanceof CliFailure);
				assert.match(err.message, /timed out after 0\.2s/);
				return true;
			});
		});
	});
}
