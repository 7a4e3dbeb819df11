// Attack: names that are path steps or invisible characters (issue #11). A workflow named `..`
// used to be imported and then unreachable, and `DELETE …/workflows/..`, normalised by the
// client, deleted the project. Names from files follow the API's own pattern; the API refuses
// `.`/`..` path parameters; the CLI refuses them before sending anything.

import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, test } from "node:test";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let srv: TestServer;

const PIPELINE = {
	path: "build.pip.yml",
	content: "version: v1.0\nname: build\njobs:\n- job: j\n  steps:\n  - script: echo hi\n",
};

function workflowFile(name: string) {
	return {
		path: "w.yml",
		content: `version: v2.0\nname: ${JSON.stringify(name)}\nworkflow:\n  build:\n    pipeline: build\n`,
	};
}

/** A request whose path goes out byte for byte (fetch would resolve `..` before sending). */
function rawRequest(method: string, path: string): Promise<number> {
	const url = new URL(srv.url);
	return new Promise((resolve, reject) => {
		const req = request(
			{
				host: url.hostname,
				port: url.port,
				method,
				path,
				headers: { authorization: `Bearer ${srv.adminToken}` },
			},
			(res) => {
				res.resume();
				res.on("end", () => resolve(res.statusCode ?? 0));
			},
		);
		req.on("error", reject);
		req.end();
	});
}

async function projectExists(): Promise<boolean> {
	return (await srv.api("GET", "/api/v1/projects/DOTS")).status === 200;
}

describe("attacker: `..` and other unreachable names", () => {
	before(async () => {
		srv = await startTestServer();
		assert.equal((await srv.api("POST", "/api/v1/projects", { key: "DOTS", name: "dots" })).status, 201);
		const ok = await srv.api("POST", "/api/v1/projects/DOTS/import", {
			files: [workflowFile("fine"), PIPELINE],
		});
		assert.equal(ok.status, 200, JSON.stringify(ok.body));
	});
	after(async () => srv?.stop());

	for (const [label, name] of [
		["..", ".."],
		[".", "."],
		["NUL", "a\u0000b"],
		["slash", "a/b"],
		["RTL mark", "abc\u200fdef"],
	] as const) {
		test(`importing a workflow named ${label} is refused with a located 4xx and stores nothing`, async () => {
			const r = await srv.api("POST", "/api/v1/projects/DOTS/import", {
				files: [workflowFile(name), PIPELINE],
			});
			assert.equal(r.status, 422, JSON.stringify(r.body));
			assert.equal(r.body.type, "VALIDATION_ERROR");
			const [error] = r.body.data.errors;
			assert.deepEqual([error.file, error.line, error.column], ["w.yml", 2, 7]);
			// A NUL is refused earlier, as text no store keeps; either way, located and nothing stored.
			assert.match(error.message, label === "NUL" ? /cannot be stored: a "\\0" character/ : /workflow name/);
			const list = await srv.api("GET", "/api/v1/projects/DOTS/workflows");
			assert.deepEqual(
				list.body.items.map((w: { name: string }) => w.name),
				["fine"],
			);
		});
	}

	test("a pipeline or application named `..` is refused too", async () => {
		const pipeline = { path: "x.pip.yml", content: PIPELINE.content.replace("name: build", 'name: ".."') };
		const r = await srv.api("POST", "/api/v1/projects/DOTS/import", {
			files: [workflowFile("other"), PIPELINE, pipeline],
		});
		assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}`);
		const apps = await srv.api("POST", "/api/v1/projects/DOTS/applications", { name: ".." });
		assert.ok(apps.status >= 400 && apps.status < 500, `status ${apps.status}`);
	});

	test("raw DELETE …/workflows/.. and …/workflows/%2e%2e are refused and the project stays", async () => {
		for (const step of ["..", "%2e%2e", "%2E%2E", "."]) {
			// 422: the name pattern refuses the step (a 404 would mean it was looked up as a name).
			const status = await rawRequest("DELETE", `/api/v1/projects/DOTS/workflows/${step}`);
			assert.equal(status, 422, step);
			assert.ok(await projectExists(), `project deleted by DELETE workflows/${step}`);
		}
	});

	test("`cds workflow delete DOTS ..` exits 2 before any request and the project stays", async () => {
		for (const name of ["..", "."]) {
			const io = memoryIo({ CDS_API_URL: srv.url, CDS_TOKEN: srv.adminToken });
			const code = await main(["workflow", "delete", "DOTS", name], io.io);
			assert.equal(code, 2, io.stderr);
			assert.match(io.stderr, /not a valid name/);
			assert.ok(await projectExists());
		}
		// A real name still deletes through the same command.
		const io = memoryIo({ CDS_API_URL: srv.url, CDS_TOKEN: srv.adminToken });
		assert.equal(await main(["workflow", "delete", "DOTS", "fine"], io.io), 0, io.stderr);
		assert.equal((await srv.api("GET", "/api/v1/projects/DOTS/workflows/fine")).status, 404);
		assert.ok(await projectExists());
	});
});
