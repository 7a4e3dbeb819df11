/**
 * Runs one Lua condition script at a time in a fresh Lua 5.4 state (wasmoon) inside a worker
 * thread. The parent enforces the time limit by terminating this thread; the memory limit is
 * wasmoon's allocator cap, so a script that builds a huge table gets "not enough memory".
 * Only the safe parts of the base library plus string, table, math and utf8 are opened.
 */
import { parentPort } from "node:worker_threads";
import { LuaFactory, LuaLibraries } from "wasmoon";

export interface LuaRequest {
	id: number;
	script: string;
	/** Lua global name → value. */
	globals: Record<string, string>;
	memoryBytes: number;
}

export interface LuaResponse {
	id: number;
	ok: boolean;
	error?: string;
}

/** Base functions that reach files, compile code or alter other code. */
const REMOVED_GLOBALS = ["dofile", "loadfile", "loadstring", "require", "print", "collectgarbage"];

/**
 * Compiles the script (held in the global `__cds_condition`) as an expression first, then as
 * a chunk, text only (no bytecode), and removes `load` before the user's code runs.
 * `string.dump` goes from the string library *and* from the strings' metatable, whose `__index`
 * is a table of its own here (wasmoon): `("").dump` reached it. The metatable is then locked
 * (`__metatable`), so `getmetatable("")` hands scripts nothing to alter.
 */
const RUNNER = `
local load, source = load, __cds_condition
__cds_condition = nil
_G.load = nil
local strings = getmetatable("")
if type(strings.__index) == "table" then strings.__index.dump = nil end
string.dump = nil
strings.__index = string
strings.__metatable = false
local chunk = load("return " .. source, "=condition", "t")
if not chunk then
	local err
	chunk, err = load(source, "=condition", "t")
	if not chunk then error(err, 0) end
end
return chunk()
`;

const factory = new LuaFactory();
// Loading the WebAssembly module is the slow part: do it once, before the first request.
const ready = factory.getLuaModule();

async function run(request: LuaRequest): Promise<LuaResponse> {
	await ready;
	const lua = await factory.createEngine({
		openStandardLibs: false,
		injectObjects: false,
		enableProxy: false,
		traceAllocations: true,
	});
	try {
		lua.global.setMemoryMax(request.memoryBytes);
		for (const lib of [
			LuaLibraries.Base,
			LuaLibraries.String,
			LuaLibraries.Table,
			LuaLibraries.Math,
			LuaLibraries.UTF8,
		]) {
			lua.global.loadLibrary(lib);
		}
		for (const name of REMOVED_GLOBALS) lua.global.set(name, undefined);
		for (const [name, value] of Object.entries(request.globals)) lua.global.set(name, value);
		lua.global.set("__cds_condition", request.script);
		const result: unknown = lua.doStringSync(RUNNER);
		return { id: request.id, ok: result === true };
	} catch (e) {
		return { id: request.id, ok: false, error: e instanceof Error ? e.message : String(e) };
	} finally {
		lua.global.close();
	}
}

void ready.then(
	() => parentPort?.postMessage({ ready: true }),
	(e: unknown) => {
		throw new Error(`cannot load the Lua module: ${String(e)}`);
	},
);

parentPort?.on("message", (request: LuaRequest) => {
	run(request).then(
		(response) => parentPort!.postMessage(response),
		(e: unknown) => parentPort!.postMessage({ id: request.id, ok: false, error: String(e) }),
	);
});
