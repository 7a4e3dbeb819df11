// The condition sandbox gives scripts no way to bytecode, other libraries or the string
// metatable (issue #11: `("").dump` reached `string.dump` through the metatable).

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { LuaPool } from "../../src/run/lua.ts";

describe("Lua sandbox escapes", () => {
	const pool = new LuaPool(1);
	after(() => pool.close());

	const refused = async (script: string) => {
		const r = await pool.evaluate(script, {}, { memoryBytes: 8 * 1024 * 1024, timeoutMs: 5_000 });
		assert.equal(r.ok, false, `${script} → ${JSON.stringify(r)}`);
		return r;
	};

	test("string.dump is gone from the library and from the strings' metatable", async () => {
		await refused("string.dump ~= nil");
		await refused('("").dump ~= nil');
		await refused('("x").dump ~= nil or ("x")["dump"] ~= nil');
		await refused('rawget(getmetatable("").__index, "dump") ~= nil');
		await refused('getmetatable("").__index.dump ~= nil');
	});

	test("the string metatable cannot be read or replaced", async () => {
		assert.deepEqual(await pool.evaluate('getmetatable("") == false', {}), { ok: true });
		await refused('(function() getmetatable("").__index = { dump = 1 }; return ("").dump == 1 end)()');
		await refused('(function() setmetatable("", {}) return true end)()');
	});

	test("string methods keep working", async () => {
		assert.deepEqual(await pool.evaluate('("Master"):lower() == "master" and ("ab"):rep(2) == "abab"', {}), {
			ok: true,
		});
		assert.deepEqual(await pool.evaluate('b:match("^fe") ~= nil', { b: "feature/x" }), { ok: true });
	});

	test("no load, debug, io, os, require, coroutine, collectgarbage", async () => {
		for (const name of [
			"load",
			"loadstring",
			"dofile",
			"loadfile",
			"debug",
			"io",
			"os",
			"require",
			"package",
			"collectgarbage",
		]) {
			await refused(`${name} ~= nil`);
		}
	});

	test("binary chunks cannot be loaded, even with a saved reference", async () => {
		await refused('(function() local f = load; return f("\\27Lua") ~= nil end)()');
	});

	test("string.rep and concatenation bombs hit the memory cap", async () => {
		const big = await refused('#string.rep("x", 1024 * 1024 * 1024) > 0');
		assert.match(big.error ?? "", /memory|too large/);
		const doubling = await refused(
			'(function() local s = "x" for i = 1, 40 do s = s .. s end return true end)()',
		);
		assert.match(doubling.error ?? "", /memory|too large/);
	});
});
