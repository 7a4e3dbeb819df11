#!/bin/sh
# Regenerates test/fixtures/gotemplate/expected.json from cases.json using
# Go's own text/template (the oracle in this directory).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
fixtures="$here/../../fixtures/gotemplate"
cd "$here"
go run . < "$fixtures/cases.json" > "$fixtures/expected.json.tmp"
mv "$fixtures/expected.json.tmp" "$fixtures/expected.json"
echo "wrote $fixtures/expected.json"
