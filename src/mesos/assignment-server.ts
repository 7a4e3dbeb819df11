// How a Mesos worker task gets its job token without it ever being in the task's definition
// (which the master keeps and shows), environment or command line: the hatchery serves each
// assignment line once, at an unguessable URL (`/assignments/<32 random bytes>`), and the
// task's shell pipes what it fetches into the worker's stdin. The URL is spent by the fetch:
// a step that reads it from its ancestors' command lines gets a 404. An assignment not fetched
// within its time to live (the task never started) is dropped.

import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

interface Pending {
	line: string;
	expiresAt: number;
	jobId: string;
}

export class AssignmentServer {
	private readonly pending = new Map<string, Pending>();
	private server?: http.Server;
	private base = "";

	async listen(host: string, port: number, advertised?: string): Promise<void> {
		this.server = http.createServer((req, res) => this.serve(req, res));
		await new Promise<void>((resolve, reject) => {
			this.server!.once("error", reject);
			this.server!.listen(port, host, () => resolve());
		});
		const a = this.server.address() as AddressInfo;
		this.base = advertised ?? `http://${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`;
	}

	private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
		const m = /^\/assignments\/([0-9a-f]{64})$/.exec(req.url ?? "");
		const key = m?.[1];
		const p = key ? this.pending.get(key) : undefined;
		if (req.method !== "GET" || !key || !p || p.expiresAt < Date.now()) {
			if (key) this.pending.delete(key);
			res.writeHead(404).end();
			return;
		}
		this.pending.delete(key);
		res.writeHead(200, { "Content-Type": "application/x-ndjson", "Cache-Control": "no-store" }).end(p.line);
	}

	/** Keeps `line` for one fetch; returns its URL. */
	offer(jobId: string, line: string, ttlMs: number): string {
		const key = randomBytes(32).toString("hex");
		this.pending.set(key, { line, jobId, expiresAt: Date.now() + ttlMs });
		for (const [k, p] of this.pending) if (p.expiresAt < Date.now()) this.pending.delete(k);
		return `${this.base}/assignments/${key}`;
	}

	/** Forgets the assignments of a job (its task ended or was never launched). */
	forget(jobId: string): void {
		for (const [k, p] of this.pending) if (p.jobId === jobId) this.pending.delete(k);
	}

	async close(): Promise<void> {
		this.pending.clear();
		const s = this.server;
		if (!s) return;
		s.closeAllConnections();
		await new Promise<void>((r) => s.close(() => r()));
	}
}
