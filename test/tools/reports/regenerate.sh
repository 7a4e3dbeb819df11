#!/usr/bin/env bash
# Regenerates the REAL tool outputs under test/fixtures/reports/ by running the tools on a
# small sample project in a scratch directory. Sample (hand-written) fixtures are not touched.
# Usage: test/tools/reports/regenerate.sh [scratch-dir]   (default /tmp/cds-reports-fixtures)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../../.." && pwd)"
OUT="$REPO/test/fixtures/reports"
SCRATCH="${1:-/tmp/cds-reports-fixtures}"
mkdir -p "$SCRATCH" "$OUT"
cd "$SCRATCH"

# ---------- JavaScript sample project: vitest (junit), c8 (coverage), eslint (json, sarif) ----------
mkdir -p js/src js/test
cd js
[ -f package.json ] || npm init -y >/dev/null
npm pkg set type=module >/dev/null
npm install --no-audit --no-fund --silent vitest c8 eslint @eslint/js @microsoft/eslint-formatter-sarif >/dev/null
cat > src/math.js <<'JS'
export function add(a, b) {
	return a + b;
}

export function divide(a, b) {
	if (b === 0) {
		throw new Error("division by zero");
	}
	return a / b;
}

export function classify(n) {
	if (n < 0) return "negative";
	if (n === 0) return "zero";
	if (n > 1000) return "huge";
	return "positive";
}

export function neverCalled() {
	var unused = 42;
	return "never";
}
JS
cat > src/strings.js <<'JS'
export function shout(s) {
	return s.toUpperCase() + "!";
}

export function pad(s, n) {
	while (s.length < n) s = " " + s;
	return s;
}

export function isBlank(s) {
	return s.trim() == "";
}
JS
cat > test/math.test.js <<'JS'
import { describe, expect, it } from "vitest";
import { add, classify, divide } from "../src/math.js";
import { shout } from "../src/strings.js";

describe("math", () => {
	it("adds", () => expect(add(1, 2)).toBe(3));
	it("divides", () => expect(divide(6, 3)).toBe(2));
	it("throws on zero", () => expect(() => divide(1, 0)).toThrow("division by zero"));
	it("classifies (deliberately wrong)", () => expect(classify(-1)).toBe("positive"));
	// A deliberately skipped case, so the JUnit output carries a skipped test.
	it.skipIf(true)("handles huge numbers", () => expect(classify(5000)).toBe("huge"));
});

describe("strings", () => {
	it("shouts", () => expect(shout("hi")).toBe("HI!"));
});
JS
cat > eslint.config.js <<'JS'
import js from "@eslint/js";
export default [
	js.configs.recommended,
	{ rules: { "no-var": "error", eqeqeq: "warn" } },
];
JS
npx vitest run --reporter=junit --outputFile=vitest-junit.xml >/dev/null 2>&1 || true
# c8 cannot map vitest's transformed modules, so coverage comes from a node:test run of the same code.
cat > test/coverage.node.mjs <<'JS'
import { test } from "node:test";
import assert from "node:assert/strict";
import { add, classify, divide } from "../src/math.js";
import { shout } from "../src/strings.js";

test("add", () => assert.equal(add(1, 2), 3));
test("divide", () => assert.throws(() => divide(1, 0)));
test("classify", () => {
	assert.equal(classify(-1), "negative");
	assert.equal(classify(3), "positive");
});
test("shout", () => assert.equal(shout("a"), "A!"));
JS
rm -rf coverage
npx c8 --reporter=lcov --reporter=cobertura --reporter=clover --reporter=json-summary --reporter=text \
	--reports-dir=coverage --include='src/**' node --test test/coverage.node.mjs >/dev/null 2>&1 || true
npx eslint -f json -o eslint.json src || true
npx eslint -f @microsoft/eslint-formatter-sarif -o eslint.sarif src || true
mkdir -p "$OUT/vitest" "$OUT/c8" "$OUT/eslint"
cp vitest-junit.xml "$OUT/vitest/junit.xml"
cp coverage/lcov.info "$OUT/c8/lcov.info"
cp coverage/cobertura-coverage.xml "$OUT/c8/cobertura-coverage.xml"
cp coverage/clover.xml "$OUT/c8/clover.xml"
cp coverage/coverage-summary.json "$OUT/c8/coverage-summary.json"
cp eslint.json "$OUT/eslint/eslint.json"
cp eslint.sarif "$OUT/eslint/eslint.sarif"
cd "$SCRATCH"

# ---------- Go sample module: go test -coverprofile, go-junit-report ----------
mkdir -p go/calc
cd go
[ -f go.mod ] || go mod init example.com/calc >/dev/null 2>&1
cat > calc/calc.go <<'GO'
package calc

import "errors"

func Add(a, b int) int { return a + b }

func Div(a, b int) (int, error) {
	if b == 0 {
		return 0, errors.New("division by zero")
	}
	return a / b, nil
}

func Sign(n int) string {
	switch {
	case n < 0:
		return "negative"
	case n == 0:
		return "zero"
	default:
		return "positive"
	}
}
GO
cat > calc/calc_test.go <<'GO'
package calc

import "testing"

func TestAdd(t *testing.T) {
	if Add(2, 2) != 4 {
		t.Fatal("2+2")
	}
}

func TestDiv(t *testing.T) {
	if _, err := Div(1, 0); err == nil {
		t.Fatal("expected an error")
	}
}

func TestSignWrong(t *testing.T) {
	if Sign(-3) != "positive" {
		t.Errorf("Sign(-3) = %q, want %q", Sign(-3), "positive")
	}
}

func TestSkipped(t *testing.T) {
	t.Skip("not implemented yet")
}
GO
GOBIN="$SCRATCH/gobin" go install github.com/jstemmer/go-junit-report/v2@latest
go test -coverprofile=cover.out ./... >/dev/null 2>&1 || true
go test -v ./... 2>&1 | "$SCRATCH/gobin/go-junit-report" -set-exit-code=false > go-junit.xml || true
mkdir -p "$OUT/go"
cp cover.out "$OUT/go/cover.out"
cp go-junit.xml "$OUT/go/go-junit-report.xml"
cd "$SCRATCH"

# ---------- Python sample: pytest --junitxml ----------
mkdir -p py
cd py
[ -d venv ] || python3 -m venv venv
./venv/bin/pip install --quiet pytest
cat > test_sample.py <<'PY'
import pytest


def test_passes():
    assert 1 + 1 == 2


def test_fails():
    assert "abc".upper() == "abd", "upper-casing went wrong"


@pytest.mark.skip(reason="not ready")
def test_skipped():
    pass


@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")


def test_error(broken):
    pass


class TestGroup:
    def test_in_class(self):
        assert [1, 2] == [1, 2]
PY
./venv/bin/pytest --junitxml=pytest-junit.xml -o junit_family=xunit2 >/dev/null 2>&1 || true
mkdir -p "$OUT/pytest"
cp pytest-junit.xml "$OUT/pytest/junit.xml"
echo "fixtures regenerated in $OUT"
