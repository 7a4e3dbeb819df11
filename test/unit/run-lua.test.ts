import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { closeScriptPool, evaluateScript, LuaPool, luaGlobals, luaVariableName } from "../../src/run/lua.ts";

const vars = { "git.branch": "master", "cds.env.my-key": "secret-ish", "cds.build.count": "10" };

describe("Lua script conditions", () => {
	const pool = new LuaPool(2);
	after(() => pool.close());

	test("variable names: dots and dashes become underscores", () => {
		assert.equal(luaVariableName("cds.env.my-key"), "cds_env_my_key");
		assert.deepEqual(luaGlobals({ "git.branch": "x", "bad name": "y" }), { git_branch: "x" });
	});

	test("CDS-style scripts see the variables as strings", async () => {
		assert.deepEqual(await pool.evaluate('return git_branch == "master"', vars), { ok: true });
		assert.deepEqual(await pool.evaluate('return git_branch == "develop"', vars), { ok: false });
		assert.deepEqual(await pool.evaluate('return cds_env_my_key == "secret-ish"', vars), { ok: true });
		assert.deepEqual(await pool.evaluate("return tonumber(cds_build_count) > 9", vars), { ok: true });
		assert.deepEqual(await pool.evaluate('git_branch == "master" and cds_build_count == "10"', vars), {
			ok: true,
		});
		assert.deepEqual(
			await pool.evaluate('local ok = string.match(git_branch, "^mas") ~= nil\nreturn ok', vars),
			{ ok: true },
		);
	});

	test("only exactly true passes", async () => {
		for (const script of [
			"return 1",
			'return "true"',
			"return nil",
			"return {}",
			"return false",
			"local x = 1",
		]) {
			assert.deepEqual(await pool.evaluate(script, vars), { ok: false }, script);
		}
	});

	test("syntax and runtime errors are reported", async () => {
		const syntax = await pool.evaluate("return (", vars);
		assert.equal(syntax.ok, false);
		assert.match(syntax.error!, /condition:1/);
		const runtime = await pool.evaluate('error("boom")', vars);
		assert.equal(runtime.ok, false);
		assert.match(runtime.error!, /boom/);
		assert.match((await pool.evaluate("   ", vars)).error!, /empty/);
	});

	test("the sandbox exposes no os, io, require, load, debug, dofile or bytecode", async () => {
		const script =
			"return os == nil and io == nil and require == nil and load == nil and loadfile == nil " +
			"and dofile == nil and debug == nil and package == nil and string.dump == nil and collectgarbage == nil";
		assert.deepEqual(await pool.evaluate(script, vars), { ok: true });
		const breakout = await pool.evaluate('return os.execute("touch /tmp/pwned")', vars);
		assert.equal(breakout.ok, false);
		assert.match(breakout.error!, /os/);
	});

	test("an endless loop is stopped within the limit and the worker replaced", async () => {
		const result = await pool.evaluate("while true do end", vars, { timeoutMs: 200 });
		assert.equal(result.ok, false);
		assert.match(result.error!, /timed out after 200 ms/);
		// The pool still works afterwards.
		assert.deepEqual(await pool.evaluate('return git_branch == "master"', vars), { ok: true });
	});

	test("a script building a huge table fails cleanly on the memory limit", async () => {
		const result = await pool.evaluate(
			'local t = {} for i = 1, 1e9 do t[i] = "x" .. i end return true',
			vars,
			{ memoryBytes: 8 * 1024 * 1024, timeoutMs: 5000 },
		);
		assert.equal(result.ok, false);
		assert.match(result.error!, /not enough memory/);
		const big = await pool.evaluate("return #string.rep('x', 1e9) > 0", vars);
		assert.match(big.error!, /not enough memory/);
		assert.deepEqual(await pool.evaluate("return true", vars), { ok: true });
	});

	test("evaluations do not leak globals into each other", async () => {
		await pool.evaluate("leaked = 1 return true", vars);
		await pool.evaluate("leaked = 1 return true", vars);
		assert.deepEqual(await pool.evaluate("return leaked == nil", vars), { ok: true });
	});

	test("parallel evaluations share the pool and all answer", async () => {
		const results = await Promise.all(
			Array.from({ length: 20 }, (_, i) => pool.evaluate(`return ${i} % 2 == 0`, vars)),
		);
		assert.deepEqual(
			results.map((r) => r.ok),
			Array.from({ length: 20 }, (_, i) => i % 2 === 0),
		);
		assert.ok(pool.workerCount <= 2);
	});
});

test("evaluateScript uses a shared pool that can be closed", async () => {
	assert.deepEqual(await evaluateScript('return git_branch ~= "master"', { "git.branch": "dev" }), {
		ok: true,
	});
	await closeScriptPool();
	assert.deepEqual(await evaluateScript("return true", {}), { ok: true });
	await closeScriptPool();
});
