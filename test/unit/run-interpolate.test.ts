import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { envName, interpolate, varsToEnv } from "../../src/run/interpolate.ts";

const vars = {
	"cds.project": "MYPROJ",
	"cds.env.my-key": "my value",
	"git.branch": "master",
	"git.hash.short": "abc1234",
	"cds.build.logcontent": Buffer.from("hello log").toString("base64"),
	"foo.bar": "payload",
	empty: "",
};

describe("interpolate", () => {
	test("replaces dotted and dashed variable names", () => {
		assert.equal(interpolate("{{.cds.project}}/{{.cds.env.my-key}}", vars), "MYPROJ/my value");
		assert.equal(
			interpolate("branch={{ .git.branch }} hash={{.git.hash.short}}", vars),
			"branch=master hash=abc1234",
		);
		assert.equal(interpolate("{{.foo.bar}}", vars), "payload");
	});

	test("leaves unknown variables exactly as written", () => {
		const text = "a {{.cds.unknown}} b {{ .nope | upper }} c";
		assert.equal(interpolate(text, vars), text);
		assert.equal(interpolate("{{.cds.unknown}}", vars, { unknown: "empty" }), "");
	});

	test("default gives unknown and empty variables a value, keeps known ones", () => {
		assert.equal(interpolate('{{.cds.unknown | default "v"}}', vars), "v");
		assert.equal(interpolate('{{.empty | default "fallback"}}', vars), "fallback");
		assert.equal(interpolate('{{.git.branch | default "v"}}', vars), "master");
		assert.equal(interpolate('{{.cds.unknown | upper | default "late"}}', vars), "late");
		assert.equal(interpolate('{{.cds.unknown | default "x" | upper}}', vars), "X");
		assert.equal(interpolate("{{.cds.unknown | default .git.branch}}", vars), "master");
	});

	test("helpers", () => {
		assert.equal(interpolate("{{.cds.build.logcontent | b64dec}}", vars), "hello log");
		assert.equal(interpolate("{{.git.branch | b64enc}}", vars), Buffer.from("master").toString("base64"));
		assert.equal(interpolate("{{.git.branch | upper}}", vars), "MASTER");
		assert.equal(interpolate("{{.cds.project | lower}}", vars), "myproj");
		assert.equal(interpolate('{{" padded " | trim}}', vars), "padded");
		assert.equal(interpolate("{{.cds.env.my-key | title}}", vars), "My Value");
		assert.equal(interpolate("{{.cds.env.my-key | quote}}", vars), '"my value"');
		assert.equal(interpolate('{{"a b&c=d/é*" | urlencode}}', vars), "a+b%26c%3Dd%2F%C3%A9%2A");
		assert.equal(interpolate("{{.git.branch | upper | b64enc | b64dec | lower}}", vars), "master");
	});

	test("keeps expressions it cannot evaluate: unknown helper, bad base64, bad syntax", () => {
		for (const text of [
			"{{.git.branch | nosuch}}",
			"{{.git.branch | b64dec}}",
			"{{.git.branch .cds.project}}",
			"{{ git.branch }}",
			"{{.git.branch | default}}",
			"{{.git.branch",
			'{{.git.branch | upper "arg"}}',
		]) {
			assert.equal(interpolate(text, vars), text, text);
		}
	});

	test("never evaluates code: JavaScript-looking expressions are left alone", () => {
		const text = "{{ process.exit(1) }} {{constructor.constructor('x')()}} {{.__proto__}}";
		assert.equal(interpolate(text, vars), text);
	});

	test("string literals may contain braces and pipes; text around is kept", () => {
		assert.equal(interpolate('x{{ "{{" }}y', vars), "x{{y");
		assert.equal(interpolate('{{ "a|b}}" | upper }}!', vars), "A|B}}!");
		assert.equal(interpolate("no template here", vars), "no template here");
		assert.equal(interpolate("multi\n{{.git.branch}}\nline", vars), "multi\nmaster\nline");
	});
});

describe("varsToEnv", () => {
	test("uppercases and turns other characters into underscores", () => {
		const env = varsToEnv(vars);
		assert.equal(env.CDS_PROJECT, "MYPROJ");
		assert.equal(env.GIT_HASH_SHORT, "abc1234");
		assert.equal(env.CDS_ENV_MY_KEY, "my value");
		assert.equal(env.FOO_BAR, "payload");
		assert.equal(envName("cds.env.weird key!"), "CDS_ENV_WEIRD_KEY_");
		assert.equal(Object.keys(env).length, Object.keys(vars).length);
	});

	test("collisions resolve the same way whatever the input order", () => {
		assert.deepEqual(varsToEnv({ "a-b": "1", "a.b": "2" }), varsToEnv({ "a.b": "2", "a-b": "1" }));
	});
});
