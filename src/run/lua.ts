/**
 * Lua `script` conditions, as CDS writes them: `return git_branch == "master"`. Variables are
 * exposed as Lua globals named with dots and dashes turned into underscores
 * (`cds.env.my-key` → `cds_env_my_key`), all as strings. Only a result of exactly `true`
 * passes. A script without a `return` is read as an expression (`git_branch == "master"`).
 *
 * Each script runs in a fresh Lua state inside a pooled worker thread: a script that loops
 * for ever is stopped by terminating its worker (which is then replaced), a script that
 * allocates too much fails with "not enough memory".
 */
import { Worker } from "node:worker_threads";
import type { LuaRequest, LuaResponse } from "./lua-worker.ts";

export interface LuaLimits {
	/** Wall-clock limit of one evaluation, worker start-up excluded. Default 1000. */
	timeoutMs?: number;
	/** Lua allocator cap. Default 32 MiB. */
	memoryBytes?: number;
}

export interface ScriptResult {
	ok: boolean;
	/** Why the script could not give a result: syntax or runtime error, timeout, memory. */
	error?: string;
}

export const DEFAULT_LUA_TIMEOUT_MS = 1000;
export const DEFAULT_LUA_MEMORY_BYTES = 32 * 1024 * 1024;
/** Longest script accepted. */
export const MAX_SCRIPT_LENGTH = 64 * 1024;

const WORKER_URL = new URL("./lua-worker.ts", import.meta.url);

/** The Lua global a run variable is visible as. */
export function luaVariableName(name: string): string {
	return name.replace(/[.-]/g, "_");
}

/** Run variables as Lua globals; names that are still not Lua identifiers are left out. */
export function luaGlobals(vars: Record<string, string>): Record<string, string> {
	const globals: Record<string, string> = {};
	for (const name of Object.keys(vars).sort()) {
		const luaName = luaVariableName(name);
		if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(luaName)) globals[luaName] = vars[name]!;
	}
	return globals;
}

interface Pending {
	request: LuaRequest;
	timeoutMs: number;
	resolve: (result: ScriptResult) => void;
}

interface PooledWorker {
	worker: Worker;
	/** Resolves once the worker has loaded its Lua module and can take a request. */
	online: Promise<void>;
	busy: Pending | undefined;
	timer: NodeJS.Timeout | undefined;
}

/**
 * A small pool of warm Lua workers. Evaluations queue when every worker is busy. Workers are
 * unref'd so an idle pool never keeps the process alive; call close() to end them.
 */
export class LuaPool {
	private readonly size: number;
	private readonly workers: PooledWorker[] = [];
	private readonly queue: Pending[] = [];
	private nextId = 1;
	private closed = false;

	constructor(size = 2) {
		this.size = Math.max(1, Math.floor(size));
	}

	evaluate(script: string, vars: Record<string, string>, limits: LuaLimits = {}): Promise<ScriptResult> {
		if (this.closed) return Promise.resolve({ ok: false, error: "the Lua pool is closed" });
		if (typeof script !== "string" || script.trim() === "") {
			return Promise.resolve({ ok: false, error: "empty script" });
		}
		if (script.length > MAX_SCRIPT_LENGTH) {
			return Promise.resolve({ ok: false, error: `script longer than ${MAX_SCRIPT_LENGTH} characters` });
		}
		const timeoutMs = limits.timeoutMs ?? DEFAULT_LUA_TIMEOUT_MS;
		const memoryBytes = limits.memoryBytes ?? DEFAULT_LUA_MEMORY_BYTES;
		return new Promise((resolve) => {
			this.queue.push({
				request: { id: this.nextId++, script, globals: luaGlobals(vars), memoryBytes },
				timeoutMs,
				resolve,
			});
			this.dispatch();
		});
	}

	/** Number of live workers. */
	get workerCount(): number {
		return this.workers.length;
	}

	/** Starts the workers now rather than on the first evaluation. */
	async warmUp(): Promise<void> {
		while (this.workers.length < this.size) this.workers.push(this.spawn());
		await Promise.all(this.workers.map((w) => w.online));
	}

	async close(): Promise<void> {
		this.closed = true;
		for (const pending of this.queue.splice(0))
			pending.resolve({ ok: false, error: "the Lua pool is closed" });
		const workers = this.workers.splice(0);
		for (const w of workers) {
			clearTimeout(w.timer);
			w.busy?.resolve({ ok: false, error: "the Lua pool is closed" });
			w.busy = undefined;
		}
		await Promise.all(workers.map((w) => w.worker.terminate()));
	}

	private spawn(): PooledWorker {
		const worker = new Worker(WORKER_URL, {
			// The Lua heap lives in WebAssembly memory (capped by memoryBytes); this caps the JS side.
			resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 },
		});
		worker.unref();
		const pooled: PooledWorker = { worker, online: Promise.resolve(), busy: undefined, timer: undefined };
		pooled.online = new Promise((resolve) => {
			worker.on("message", (message: LuaResponse | { ready: true }) => {
				if ("ready" in message) resolve();
				else this.finish(pooled, message);
			});
			worker.once("exit", () => resolve());
		});
		worker.on("error", (e) => this.replace(pooled, `Lua worker failed: ${e.message}`));
		worker.on("exit", () => this.replace(pooled, "Lua worker exited"));
		return pooled;
	}

	private dispatch(): void {
		if (this.closed) return;
		while (this.queue.length > 0) {
			let idle = this.workers.find((w) => !w.busy);
			if (!idle && this.workers.length < this.size) {
				idle = this.spawn();
				this.workers.push(idle);
			}
			if (!idle) return;
			const pending = this.queue.shift()!;
			this.start(idle, pending);
		}
	}

	private start(pooled: PooledWorker, pending: Pending): void {
		pooled.busy = pending;
		// Only a busy worker keeps the process alive: an idle pool must not block exit.
		pooled.worker.ref();
		// The clock starts once the worker is up, so a cold start never counts as a script timeout.
		pooled.online.then(() => {
			if (pooled.busy !== pending) return;
			pooled.timer = setTimeout(() => {
				this.replace(pooled, `script timed out after ${pending.timeoutMs} ms`);
			}, pending.timeoutMs);
			pooled.worker.postMessage(pending.request);
		});
	}

	private finish(pooled: PooledWorker, response: LuaResponse): void {
		const pending = pooled.busy;
		if (!pending || pending.request.id !== response.id) return;
		clearTimeout(pooled.timer);
		pooled.busy = undefined;
		pooled.worker.unref();
		pending.resolve(
			response.error === undefined ? { ok: response.ok } : { ok: false, error: response.error },
		);
		this.dispatch();
	}

	/** Ends a worker that timed out or died, fails its evaluation, and lets a fresh one take over. */
	private replace(pooled: PooledWorker, reason: string): void {
		const index = this.workers.indexOf(pooled);
		if (index < 0) return;
		this.workers.splice(index, 1);
		clearTimeout(pooled.timer);
		const pending = pooled.busy;
		pooled.busy = undefined;
		pooled.worker.removeAllListeners("exit");
		void pooled.worker.terminate();
		pending?.resolve({ ok: false, error: reason });
		this.dispatch();
	}
}

let sharedPool: LuaPool | undefined;

/** Evaluates a Lua condition in the process-wide pool. */
export function evaluateScript(
	script: string,
	vars: Record<string, string>,
	limits: LuaLimits = {},
): Promise<ScriptResult> {
	sharedPool ??= new LuaPool();
	return sharedPool.evaluate(script, vars, limits);
}

/** Ends the process-wide pool's workers (a later evaluateScript starts a new pool). */
export async function closeScriptPool(): Promise<void> {
	const pool = sharedPool;
	sharedPool = undefined;
	await pool?.close();
}
