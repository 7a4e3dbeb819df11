/** API, delimiters, limits and safety of the Go text/template engine. */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseTemplate, renderTemplate, TemplateError } from "../../src/gotemplate/index.ts";

const engineDir = join(import.meta.dirname, "..", "..", "src", "gotemplate");

describe("gotemplate API", () => {
	test("a parsed template can be executed many times with different data", () => {
		const t = parseTemplate("greet", "Hello {{.name}}!");
		assert.equal(t.execute({ name: "Ann" }), "Hello Ann!");
		assert.equal(t.execute({ name: "Bob" }), "Hello Bob!");
		assert.equal(t.name, "greet");
	});

	test("renderTemplate parses and executes in one call, with options", () => {
		assert.equal(renderTemplate("t", "[[ .a ]]-{{ .a }}", { a: 1 }, { delims: ["[[", "]]"] }), "1-{{ .a }}");
		assert.throws(() => renderTemplate("t", "{{.a}}", {}, { missingKey: "error" }), TemplateError);
	});

	test("defined templates are listed and can be executed by name", () => {
		const t = parseTemplate("main", '{{define "row"}}<{{.}}>{{end}}{{range .}}{{template "row" .}}{{end}}');
		assert.deepEqual(t.templateNames(), ["main", "row"]);
		assert.equal(t.execute(["a", "b"]), "<a><b>");
		assert.equal(t.executeTemplate("row", "x"), "<x>");
		assert.throws(() => t.executeTemplate("nope", 1), /no such template "nope"/);
	});

	test("parse errors carry the template name, line and column", () => {
		const err = captureError(() =>
			parseTemplate("wf.yml", "line one\n  [[ .x | nofunc ]]", { delims: ["[[", "]]"] }),
		);
		assert.equal(err.phase, "parse");
		assert.equal(err.templateName, "wf.yml");
		assert.equal(err.line, 2);
		assert.equal(err.column, 10);
		assert.equal(err.message, 'template: wf.yml:2:10: function "nofunc" not defined');
	});

	test("execution errors follow Go's message shape", () => {
		const err = captureError(() => renderTemplate("NAME", "a\nb\n  {{.x.y}}", { x: null }));
		assert.equal(err.phase, "exec");
		assert.equal(err.line, 3);
		assert.equal(err.column, 6);
		assert.equal(
			err.message,
			'template: NAME:3:6: executing "NAME" at <.x.y>: nil pointer evaluating interface {}.y',
		);
	});

	test("custom functions receive evaluated arguments and their errors are reported", () => {
		const funcs = {
			add: (a: number, b: number) => a + b,
			fail: () => {
				throw new Error("boom");
			},
		};
		assert.equal(renderTemplate("t", "{{add 1 .n}} {{.n | add 10}}", { n: 2 }, { funcs }), "3 12");
		assert.throws(() => renderTemplate("t", "{{fail}}", {}, { funcs }), /error calling fail: boom/);
		assert.throws(() => parseTemplate("t", "x", { funcs: { "bad-name": () => 1 } }), TypeError);
	});

	test("invalid options are rejected clearly", () => {
		assert.throws(() => parseTemplate("t", "x", { delims: ["", "]]"] }), /delimiters/);
		assert.throws(
			() => parseTemplate("t", "x").execute({}, { missingKey: "panic" as "error" }),
			/missingKey/,
		);
	});

	test("CDS [[ ]] delimiters keep Go's {{ }} as literal text", () => {
		const t = parseTemplate("cds", "[[- range .jobs ]]\n- [[ . ]] uses {{ .secret }}\n[[- end ]]", {
			delims: ["[[", "]]"],
		});
		assert.equal(
			t.execute({ jobs: ["build", "test"] }),
			"\n- build uses {{ .secret }}\n- test uses {{ .secret }}",
		);
	});
});

describe("gotemplate limits", () => {
	test("output larger than maxOutputSize is an error", () => {
		const t = parseTemplate("big", "{{range .}}xxxxxxxxxx{{end}}");
		assert.equal(t.execute(5, { maxOutputSize: 50 }).length, 50);
		const err = captureError(() => t.execute(6, { maxOutputSize: 50 }));
		assert.match(err.message, /output exceeds the limit of 50 characters/);
	});

	test("endless template recursion stops at maxDepth", () => {
		const t = parseTemplate("rec", '{{define "r"}}{{template "r" .}}{{end}}{{template "r" .}}');
		assert.throws(() => t.execute({}), /exceeded maximum template depth \(200\)/);
		assert.throws(() => t.execute({}, { maxDepth: 5 }), /exceeded maximum template depth \(5\)/);
	});

	test("huge ranges and exponential recursion stop at maxSteps", () => {
		const started = Date.now();
		assert.throws(
			() => renderTemplate("loop", "{{range 1000000000000}}{{end}}", {}),
			/exceeded the limit of 1000000 steps/,
		);
		const fan =
			'{{define "f"}}{{if .}}{{template "f" (slice . 1)}}{{template "f" (slice . 1)}}{{end}}{{end}}{{template "f" .}}';
		assert.throws(
			() =>
				renderTemplate(
					"fan",
					fan,
					Array.from({ length: 60 }, (_, i) => i),
				),
			/steps/,
		);
		assert.ok(Date.now() - started < 10_000, "limits must stop execution quickly");
	});

	test("deeply nested parentheses fail cleanly instead of crashing", () => {
		const text = `{{${"(".repeat(20000)}1${")".repeat(20000)}}}`;
		assert.throws(() => parseTemplate("deep", text), TemplateError);
	});
});

describe("gotemplate never evaluates JavaScript", () => {
	test("the engine source contains no eval or Function constructor", () => {
		for (const file of readdirSync(engineDir).filter((f) => f.endsWith(".ts"))) {
			const source = readFileSync(join(engineDir, file), "utf8");
			assert.doesNotMatch(source, /\beval\s*\(|new\s+Function\b|\bFunction\s*\(/, file);
		}
	});

	test("JavaScript in a template is text or a parse error, never code", () => {
		assert.equal(renderTemplate("t", "{{`process.exit(1)`}}", {}), "process.exit(1)");
		assert.throws(
			() => renderTemplate("t", '{{constructor "return process"}}', {}),
			/function "constructor" not defined/,
		);
		assert.throws(() => renderTemplate("t", "{{process.exit 1}}", {}), TemplateError);
	});

	test("prototype properties are not reachable as map keys", () => {
		const out = renderTemplate(
			"t",
			'{{.constructor}}|{{.__proto__}}|{{index . "toString"}}|{{.hasOwnProperty}}',
			{},
		);
		assert.equal(out, "<no value>|<no value>|<no value>|<no value>");
	});

	test("functions found in data are never called", () => {
		let called = false;
		const data = {
			f: () => {
				called = true;
				return "x";
			},
		};
		assert.throws(() => renderTemplate("t", "{{.f}}", data), /can't print/);
		assert.throws(() => renderTemplate("t", "{{.f 1}}", data), TemplateError);
		assert.equal(renderTemplate("t", "{{if .f}}set{{end}}", data), "set");
		assert.equal(called, false);
	});
});

function captureError(fn: () => unknown): TemplateError {
	try {
		fn();
	} catch (err) {
		assert.ok(err instanceof TemplateError, `expected a TemplateError, got ${String(err)}`);
		return err;
	}
	assert.fail("expected an error");
}
