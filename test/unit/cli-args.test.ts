import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { memoryIo } from "../../src/cli/io.ts";
import { defaultRegistry, main } from "../../src/cli/main.ts";
import { CommandRegistry } from "../../src/cli/registry.ts";

// A config path that never exists, so nothing here can reach a server by accident.
const ENV = { CDS_CONFIG: "/nonexistent/cds-test/config.json" };

async function run(argv: string[], registry?: CommandRegistry) {
	const out = memoryIo({ ...ENV });
	const code = await main(argv, out.io, registry);
	return { code, stdout: out.stdout, stderr: out.stderr };
}

describe("cds help", () => {
	test("no arguments prints the root usage on stderr with exit 2", async () => {
		const r = await run([]);
		assert.equal(r.code, 2);
		assert.equal(r.stdout, "");
		assert.match(r.stderr, /^error: missing command/);
		assert.match(r.stderr, /Usage: cds <command>/);
	});

	test("--help, -h and `help` print the root usage on stdout with exit 0", async () => {
		for (const argv of [["--help"], ["-h"], ["help"]]) {
			const r = await run(argv);
			assert.equal(r.code, 0, argv.join(" "));
			assert.equal(r.stderr, "");
			for (const word of ["login", "project", "workflow", "token", "version"]) {
				assert.match(r.stdout, new RegExp(`^  ${word}\\b`, "m"), `${word} in root usage`);
			}
		}
	});

	test("every group and every command answers --help with its usage", async () => {
		const registry = defaultRegistry();
		const groups = registry.children(registry.root).groups;
		assert.ok(groups.length >= 3);
		for (const group of groups) {
			const g = await run([...group.path, "--help"]);
			assert.equal(g.code, 0);
			assert.match(g.stdout, new RegExp(`^Usage: cds ${group.path.join(" ")} <command>`));
			for (const command of registry.children(group).commands) {
				for (const flag of ["--help", "-h"]) {
					const c = await run([...command.path, flag]);
					assert.equal(c.code, 0, `${command.path.join(" ")} ${flag}`);
					assert.match(c.stdout, new RegExp(`^Usage: cds ${command.path.join(" ")}`));
					assert.match(c.stdout, /-h, --help/);
				}
			}
		}
	});

	test("command help lists options, their values and required markers", async () => {
		const r = await run(["token", "create", "--help"]);
		assert.match(r.stdout, /^Usage: cds token create --role read\|write\|admin \[options\]/);
		assert.match(r.stdout, /--role read\|write\|admin\s+what the token may do \(required\)/);
		assert.match(r.stdout, /--expires WHEN/);
		const e = await run(["workflow", "export", "-h"]);
		assert.match(e.stdout, /-o, --output DIR/);
	});

	test("help wins over other errors on the same line", async () => {
		const r = await run(["project", "create", "--bogus", "--help"]);
		assert.equal(r.code, 0);
		assert.match(r.stdout, /Usage: cds project create KEY NAME/);
	});
});

describe("cds usage errors exit 2 with a message and the usage on stderr", () => {
	const cases: Array<[string[], RegExp]> = [
		[["nope"], /^error: unknown command "nope" for cds\n/],
		[["project", "nope"], /^error: unknown command "nope" for cds project\n/],
		[["project"], /^error: missing command/],
		[["project", "--bogus"], /^error: unknown option --bogus/],
		[["project", "list", "--bogus"], /^error: unknown option --bogus\n/],
		[["project", "create", "ONLYKEY"], /^error: missing argument: expected KEY NAME\n/],
		[["project", "show", "A", "B"], /^error: unexpected argument "B"\n/],
		[["project", "list", "extra"], /^error: unexpected argument "extra"\n/],
		[["token", "create"], /^error: missing --role\n/],
		[
			["token", "create", "--role", "root"],
			/^error: invalid --role "root": expected one of read, write, admin\n/,
		],
		[["workflow", "export", "K", "W", "--format", "xml"], /^error: invalid --format "xml"/],
		[["workflow", "export", "K", "W", "-o"], /^error: .*'-o, --output <value>' argument missing/],
		[["workflow", "lint"], /^error: missing argument: expected PATH\.\.\./],
		[["login", "--token", "t"], /^error: missing --api-url\n/],
		[["login", "--api-url", "ftp://x", "--token", "t"], /^error: invalid API URL "ftp:\/\/x"/],
		[["project", "list", "--json=yes"], /^error: .*--json/],
	];
	for (const [argv, message] of cases) {
		test(`cds ${argv.join(" ")}`, async () => {
			const r = await run(argv);
			assert.equal(r.code, 2);
			assert.equal(r.stdout, "");
			assert.match(r.stderr, message);
			assert.match(r.stderr, /\nUsage: cds /);
			assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
		});
	}
});

describe("cds version", () => {
	test("prints the package version, also as --version", async () => {
		const { version } = (await import("../../package.json", { with: { type: "json" } })).default;
		for (const argv of [["version"], ["--version"]]) {
			const r = await run(argv);
			assert.equal(r.code, 0);
			assert.equal(
				r.stdout,
				`cds ${version} (node ${process.versions.node})\n` +
					"server: none configured (cds login --api-url URL --token T, or CDS_API_URL)\n",
			);
		}
	});
});

describe("command registry", () => {
	test("a registered module's command is dispatched with parsed options and positionals", async () => {
		const registry = new CommandRegistry();
		registry.addGroup({ path: ["report"], summary: "Reports" });
		let seen: unknown;
		registry.add({
			path: ["report", "parse"],
			summary: "Parse a report",
			args: "FILE",
			positionals: { min: 1, max: 1 },
			options: { format: { type: "string", short: "f", description: "format", choices: ["junit", "tap"] } },
			run(ctx) {
				seen = { values: { ...ctx.values }, positionals: ctx.positionals };
				ctx.print("parsed");
				return 3;
			},
		});
		const r = await run(["report", "parse", "-f", "tap", "out.xml"], registry);
		assert.equal(r.code, 3);
		assert.equal(r.stdout, "parsed\n");
		assert.deepEqual(seen, { values: { format: "tap" }, positionals: ["out.xml"] });
		const help = await run(["--help"], registry);
		assert.match(help.stdout, /report <command>\s+Reports/);
	});

	test("refuses duplicate commands and commands under an unknown group", () => {
		const registry = new CommandRegistry();
		const command = { path: ["x"], summary: "x", run: () => 0 };
		registry.add(command);
		assert.throws(() => registry.add(command), /already registered/);
		assert.throws(() => registry.add({ path: ["g", "y"], summary: "y", run: () => 0 }), /register group "g"/);
	});

	test("an unexpected exception prints one error line, exit 1, no stack trace", async () => {
		const registry = new CommandRegistry();
		registry.add({
			path: ["boom"],
			summary: "fails",
			run() {
				throw new TypeError("something broke");
			},
		});
		const r = await run(["boom"], registry);
		assert.equal(r.code, 1);
		assert.equal(r.stderr, "error: something broke\n");
	});
});
