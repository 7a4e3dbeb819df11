// Starts real CDS-TS nodes in the test process (embedded store unless MONGO_URL is given)
// and waits until the gateway says it is ready.

import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { type RunningServer, startServer } from "../../server.ts";

export async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const srv = createServer();
		srv.once("error", reject);
		srv.listen(0, "127.0.0.1", () => {
			const { port } = srv.address() as { port: number };
			srv.close(() => resolve(port));
		});
	});
}

/**
 * A server refuses local repositories (paths, file://) and connections to loopback or private
 * addresses on a project's behalf (src/net/outbound-policy.ts). Tests that link the local bare
 * repositories of test/helpers/ascode-repo.ts, or register a fake forge listening on 127.0.0.1,
 * say so with these settings (the README's as-code walkthrough sets the same).
 */
export const ALLOW_LOCAL_REPOSITORIES: Record<string, string> = { CDS_REPOSITORY_ALLOW_LOCAL: "true" };
export const ALLOW_LOOPBACK_OUTBOUND: Record<string, string> = { CDS_OUTBOUND_ALLOW: "127.0.0.1/32,::1/128" };

export interface TestServer {
	url: string;
	adminToken: string;
	dataDir: string;
	server: RunningServer;
	/** fetch against the API with the admin token (or the given one). */
	api(
		method: string,
		route: string,
		body?: unknown,
		token?: string | null,
	): Promise<{ status: number; body: any }>;
	stop(): Promise<void>;
}

export async function waitReady(url: string, timeoutMs = 15_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	let last = "";
	while (Date.now() < deadline) {
		try {
			const res = await fetch(`${url}/health/ready`);
			if (res.status === 200) return;
			last = await res.text();
		} catch (e) {
			last = (e as Error).message;
		}
		await new Promise((r) => setTimeout(r, 50));
	}
	throw new Error(`server at ${url} not ready after ${timeoutMs} ms: ${last}`);
}

export function apiClient(url: string, defaultToken: string) {
	return async (method: string, route: string, body?: unknown, token: string | null = defaultToken) => {
		const headers: Record<string, string> = {};
		if (token) headers.authorization = `Bearer ${token}`;
		let payload: string | undefined;
		if (body !== undefined) {
			headers["content-type"] = "application/json";
			payload = typeof body === "string" ? body : JSON.stringify(body);
		}
		const res = await fetch(`${url}${route}`, { method, headers, body: payload });
		const text = await res.text();
		let parsed: unknown = text;
		try {
			parsed = text ? JSON.parse(text) : undefined;
		} catch {
			/* keep the text */
		}
		return { status: res.status, body: parsed as any };
	};
}

export async function startTestServer(extraEnv: Record<string, string> = {}): Promise<TestServer> {
	const dataDir = mkdtempSync(path.join(tmpdir(), "cds-ts-test-"));
	const port = await freePort();
	const adminToken = `test-admin-${randomBytes(16).toString("hex")}`;
	const env: Record<string, string> = {
		CDS_DATA_DIR: dataDir,
		CDS_API_PORT: String(port),
		CDS_API_HOST: "127.0.0.1",
		CDS_ADMIN_TOKEN: adminToken,
		LOG_LEVEL: "warn",
		// A test's server stops at once and takes its workers with it.
		CDS_HATCHERY_DRAIN_SECONDS: "0",
		CDS_HATCHERY_ON_STOP: "stop",
		...extraEnv,
	};
	const server = await startServer(env);
	const url = `http://127.0.0.1:${port}`;
	if (server.config.services.includes("api")) await waitReady(url);
	return {
		url,
		adminToken: env.CDS_ADMIN_TOKEN,
		dataDir,
		server,
		api: apiClient(url, adminToken),
		async stop() {
			await server.stop();
			rmSync(dataDir, { recursive: true, force: true });
		},
	};
}
