// Command gotemplate-oracle runs conformance cases through Go's own
// text/template so the TypeScript engine's expectations are provably Go's.
// It reads a JSON array of {name, template, data, delims?, missingkey?} on
// stdin and prints a JSON array of {name, output?, error?}.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"text/template"
	"unicode"
	"unicode/utf8"
)

type testCase struct {
	Name       string          `json:"name"`
	Template   string          `json:"template"`
	Data       json.RawMessage `json:"data"`
	Delims     []string        `json:"delims,omitempty"`
	MissingKey string          `json:"missingkey,omitempty"`
}

type result struct {
	Name   string  `json:"name"`
	Output *string `json:"output,omitempty"`
	Error  *string `json:"error,omitempty"`
}

// normalize mirrors the TypeScript data model: a JSON number that is an
// integer becomes a Go int, any other number a float64.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int(f)
		}
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	}
	return v
}

// truthy is text/template's notion of an empty value for the data model.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case int:
		return x != 0
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

func title(s string) string {
	var b strings.Builder
	prevSpace := true
	for _, r := range s {
		if prevSpace && !unicode.IsSpace(r) {
			b.WriteRune(unicode.ToUpper(r))
		} else {
			b.WriteRune(r)
		}
		prevSpace = unicode.IsSpace(r)
	}
	return b.String()
}

func toJSON(v any) (string, error) {
	out, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

var helpers = template.FuncMap{
	"default": func(def any, given ...any) any {
		if len(given) == 0 || !truthy(given[0]) {
			return def
		}
		return given[0]
	},
	"upper":  strings.ToUpper,
	"lower":  strings.ToLower,
	"trim":   strings.TrimSpace,
	"title":  title,
	"quote":  func(s string) string { return strconv.Quote(s) },
	"toJson": toJSON,
	"b64enc": func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	"b64dec": func(s string) (string, error) {
		out, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return "", err
		}
		if !utf8.Valid(out) {
			return "", fmt.Errorf("b64dec: decoded bytes are not valid UTF-8")
		}
		return string(out), nil
	},
	"replace":   func(old, new, s string) string { return strings.ReplaceAll(s, old, new) },
	"contains":  func(sub, s string) bool { return strings.Contains(s, sub) },
	"hasPrefix": func(prefix, s string) bool { return strings.HasPrefix(s, prefix) },
	"hasSuffix": func(suffix, s string) bool { return strings.HasSuffix(s, suffix) },
	"split": func(sep, s string) []any {
		parts := strings.Split(s, sep)
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = p
		}
		return out
	},
	"join": func(sep string, list []any) string {
		parts := make([]string, len(list))
		for i, e := range list {
			if e == nil {
				continue
			}
			parts[i] = fmt.Sprint(e)
		}
		return strings.Join(parts, sep)
	},
}

func run(c testCase) result {
	res := result{Name: c.Name}
	fail := func(err error) result {
		msg := err.Error()
		res.Error = &msg
		return res
	}
	var data any
	if len(c.Data) > 0 {
		dec := json.NewDecoder(bytes.NewReader(c.Data))
		dec.UseNumber()
		if err := dec.Decode(&data); err != nil {
			return fail(err)
		}
		data = normalize(data)
	}
	t := template.New(c.Name).Funcs(helpers)
	if len(c.Delims) == 2 {
		t = t.Delims(c.Delims[0], c.Delims[1])
	}
	if c.MissingKey != "" {
		t = t.Option("missingkey=" + c.MissingKey)
	}
	t, err := t.Parse(c.Template)
	if err != nil {
		return fail(err)
	}
	var out bytes.Buffer
	if err := t.Execute(&out, data); err != nil {
		return fail(err)
	}
	s := out.String()
	res.Output = &s
	return res
}

func main() {
	var cases []testCase
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		fmt.Fprintln(os.Stderr, "gotemplate-oracle: cannot read cases:", err)
		os.Exit(1)
	}
	results := make([]result, 0, len(cases))
	for _, c := range cases {
		results = append(results, run(c))
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(results); err != nil {
		fmt.Fprintln(os.Stderr, "gotemplate-oracle:", err)
		os.Exit(1)
	}
}
