import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { ApiError, formatLocated } from "../../src/cli/errors.ts";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";

// A TCP server that accepts connections and never answers: the only way to see a timeout.
let silent: Server;
const sockets = new Set<Socket>();
let silentPort = 0;
let closedPort = 0;

function listen(server: Server): Promise<number> {
	return new Promise((resolve) =>
		server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
	);
}

before(async () => {
	silent = createServer((socket) => {
		sockets.add(socket);
	});
	silentPort = await listen(silent);
	const probe = createServer();
	closedPort = await listen(probe);
	await new Promise((resolve) => probe.close(resolve));
});
after(() => {
	for (const socket of sockets) socket.destroy();
	silent.close();
});

describe("network failures", () => {
	test("an unreachable server is one clear line and exit 1", async () => {
		const out = memoryIo({ CDS_API_URL: `http://127.0.0.1:${closedPort}`, CDS_TOKEN: "t" });
		assert.equal(await main(["project", "list"], out.io), 1);
		assert.equal(
			out.stderr,
			`error: cannot reach the CDS API at http://127.0.0.1:${closedPort}: ECONNREFUSED\n`,
		);
		assert.equal(out.stdout, "");
	});

	test("a server that never answers times out after CDS_TIMEOUT seconds, exit 1", async () => {
		const out = memoryIo({
			CDS_API_URL: `http://127.0.0.1:${silentPort}`,
			CDS_TOKEN: "t",
			CDS_TIMEOUT: "0.3",
		});
		const started = Date.now();
		assert.equal(await main(["project", "show", "P"], out.io), 1);
		assert.ok(Date.now() - started < 5000);
		assert.match(out.stderr, /^error: request to http:\/\/127\.0\.0\.1:\d+ timed out after 0\.3s/);
	});

	test("login does not save anything when the server cannot be reached", async () => {
		const out = memoryIo({ CDS_CONFIG: "/nonexistent/dir/config.json" });
		const code = await main(["login", "--api-url", `http://127.0.0.1:${closedPort}`, "--token", "t"], out.io);
		assert.equal(code, 1);
		assert.match(out.stderr, /^error: cannot reach the CDS API/);
	});
});

describe("server error details", () => {
	test("422 data.errors become file:line:column: message lines", () => {
		const err = new ApiError(422, "VALIDATION_ERROR", "invalid workflow files", {
			errors: [
				{ file: "w.yml", line: 3, column: 5, message: "unknown key" },
				{ field: "name", message: "required" },
				{ message: "bare" },
				"not an object",
			],
		});
		assert.deepEqual(err.details.map(formatLocated), ["w.yml:3:5: unknown key", "name: required", "bare"]);
	});
});
