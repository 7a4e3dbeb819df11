// The one-time assignment URLs of the Marathon driver: a small HTTP server of the hatchery
// that hands each worker's assignment (token included) once, to the Mesos fetcher of its
// task, then forgets it. The code in the URL is 256 random bits; it expires with the start
// timeout. Threat model (docs/marathon-mesos.md): the URL is in the app definition, which
// Marathon readers see; one of them fetching it before the worker gets the token but makes
// the worker's fetch fail — its task fails "Failed to fetch", and so does the job, loudly.
// A step reading its worker's command line later finds a spent URL.

import { randomBytes } from "node:crypto";
import http from "node:http";
import os from "node:os";

interface Pending {
	line: string;
	appId: string;
	expiresAt: number;
}

export class AssignmentServer {
	readonly #pending = new Map<string, Pending>();
	readonly #server: http.Server;
	#base = "";
	/** Codes asked for again after being spent, or never known: a sign someone else fetched. */
	readonly refused: Array<{ appId?: string; from: string }> = [];
	readonly #log?: (msg: string) => void;

	constructor(log?: (msg: string) => void) {
		this.#log = log;
		this.#server = http.createServer((req, res) => this.#serve(req, res));
	}

	async listen(listen: string, advertised?: string): Promise<string> {
		const at = listen.lastIndexOf(":");
		const host = listen.slice(0, at);
		const port = Number(listen.slice(at + 1));
		await new Promise<void>((resolve, reject) => {
			this.#server.once("error", reject);
			this.#server.listen(port, host, () => resolve());
		});
		this.#server.unref();
		const bound = (this.#server.address() as { port: number }).port;
		const shown = host === "0.0.0.0" || host === "::" ? os.hostname() : host;
		this.#base = (advertised ?? `http://${shown}:${bound}`).replace(/\/+$/, "");
		return this.#base;
	}

	/** A fresh one-time URL serving `line`, valid for `ttlMs`. */
	offer(appId: string, line: string, ttlMs: number): string {
		const code = randomBytes(32).toString("base64url");
		this.#pending.set(code, { line, appId, expiresAt: Date.now() + ttlMs });
		return `${this.#base}/assignments/${code}/assignment`;
	}

	/** Forgets the codes of an app (it is gone) and expired ones. */
	forget(appId?: string): void {
		const now = Date.now();
		for (const [code, p] of this.#pending)
			if (p.appId === appId || p.expiresAt < now) this.#pending.delete(code);
	}

	get pending(): number {
		return this.#pending.size;
	}

	#serve(req: http.IncomingMessage, res: http.ServerResponse): void {
		const m = /^\/assignments\/([A-Za-z0-9_-]{43})\/assignment$/.exec(req.url ?? "");
		const p = m && req.method === "GET" ? this.#pending.get(m[1]!) : undefined;
		if (m) this.#pending.delete(m[1]!);
		if (!p || p.expiresAt < Date.now()) {
			this.refused.push({ from: req.socket.remoteAddress ?? "" });
			this.#log?.(
				`marathon: an assignment URL was asked for again, or after it expired (from ${req.socket.remoteAddress})`,
			);
			res.writeHead(404, { "content-type": "text/plain" });
			res.end("no such assignment (each is served once)\n");
			return;
		}
		res.writeHead(200, { "content-type": "application/octet-stream", "cache-control": "no-store" });
		res.end(p.line);
	}

	async close(): Promise<void> {
		this.#pending.clear();
		this.#server.closeAllConnections();
		await new Promise<void>((resolve) => this.#server.close(() => resolve()));
	}
}
