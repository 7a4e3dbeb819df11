// Benchmark: run-condition latency — a Lua `script` condition on a warm pool (sequential and
// parallel), and the `check` operators — printed as JSON. Run: npm run bench:conditions [runs]
// (This measurement used to be a test assertion; on a shared machine it belongs here.)
import { evaluateChecks } from "../src/run/conditions.ts";
import { LuaPool } from "../src/run/lua.ts";

const runs = Number(process.argv[2] ?? 500);
const vars = { "git.branch": "master", "cds.env.my-key": "secret-ish", "cds.build.count": "10" };

const pool = new LuaPool(2);
try {
	await pool.warmUp();
	let started = performance.now();
	for (let i = 0; i < runs; i++) await pool.evaluate('return git_branch == "master"', vars);
	const luaSequentialMs = (performance.now() - started) / runs;
	started = performance.now();
	await Promise.all(Array.from({ length: runs }, () => pool.evaluate('return git_branch == "master"', vars)));
	const luaParallelMs = (performance.now() - started) / runs;
	started = performance.now();
	for (let i = 0; i < runs; i++)
		evaluateChecks([{ variable: "git.branch", operator: "regex", value: "^(master|main)$" }], vars);
	const checkMs = (performance.now() - started) / runs;
	console.log(
		JSON.stringify(
			{
				runs,
				luaWarmSequentialMsPerEval: Number(luaSequentialMs.toFixed(3)),
				luaWarmParallelMsPerEval: Number(luaParallelMs.toFixed(3)),
				checkRegexMsPerEval: Number(checkMs.toFixed(4)),
			},
			null,
			2,
		),
	);
} finally {
	await pool.close();
}
