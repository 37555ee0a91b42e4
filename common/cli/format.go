package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"
	"text/template"
)

// Table is an applet's default listing: column headers and one template
// per row, cells separated by tabs.
type Table struct {
	Headers []string
	Row     string
}

// Print writes items the way --format asks:
//
//	""                the applet's default table
//	"json"            one JSON object per line, ready for jq
//	"table TEMPLATE"  a table of the template's cells, with headers
//	TEMPLATE          a Go template executed once per item
//
// A bad template is a usage error, reported before anything is printed.
func Print[T any](w io.Writer, format string, def Table, items []T) error {
	switch {
	case format == "json" || format == "{{json .}}":
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, it := range items {
			if err := enc.Encode(it); err != nil {
				return err
			}
		}
		return nil
	case format == "" || format == "table":
		return printTable(w, def.Headers, def.Row, items)
	case strings.HasPrefix(format, "table "):
		row := strings.TrimPrefix(format, "table ")
		return printTable(w, headersOf(row), row, items)
	default:
		t, err := Template(format)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		for _, it := range items {
			buf.Reset()
			if err := t.Execute(&buf, it); err != nil {
				return Usagef("--format: %v", err)
			}
			buf.WriteByte('\n')
			if _, err := w.Write(buf.Bytes()); err != nil {
				return err
			}
		}
		return nil
	}
}

// PrintInspect ends an inspect command: it prints the items found, as a
// JSON array indented as docker's (empty, not null, when none was found)
// or with the --format template once per item, and returns what the
// command returns. failed is ForEach's error over the targets: when
// standard input could not be read it is returned alone, with nothing
// printed; when the template fails on an item, both are returned (see
// Report).
func PrintInspect[T any](w io.Writer, format string, items []T, failed error) error {
	if _, ok := asTargetErrors(failed); failed != nil && !ok {
		return failed
	}
	var err error
	if format != "" {
		err = Print(w, format, Table{}, items)
	} else {
		if items == nil {
			items = []T{}
		}
		var b []byte
		if b, err = json.MarshalIndent(items, "", "    "); err == nil {
			_, err = fmt.Fprintf(w, "%s\n", b)
		}
	}
	switch {
	case err == nil:
		return failed
	case failed == nil:
		return err
	}
	return errors.Join(failed, err)
}

// CheckFormat reports a --format that Print would refuse, so that a
// command can refuse it before it does any work.
func CheckFormat(format string) error {
	switch {
	case format == "" || format == "json" || format == "table":
		return nil
	case strings.HasPrefix(format, "table "):
		_, err := Template(strings.TrimPrefix(format, "table "))
		return err
	}
	_, err := Template(format)
	return err
}

func printTable[T any](w io.Writer, headers []string, row string, items []T) error {
	t, err := Template(row)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
	fmt.Fprintln(tw, strings.Join(headers, "\t"))
	for _, it := range items {
		if err := t.Execute(tw, it); err != nil {
			return Usagef("--format: %v", err)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

var fieldRE = regexp.MustCompile(`\{\{\s*\.(\w+)[^}]*\}\}`)

// headersOf names the columns of a user's "table" template after the fields
// it uses, docker style: {{.Name}} becomes NAME.
func headersOf(row string) []string {
	var hs []string
	for _, cell := range strings.Split(row, `\t`) {
		m := fieldRE.FindStringSubmatch(cell)
		if m == nil {
			hs = append(hs, "")
			continue
		}
		hs = append(hs, strings.ToUpper(m[1]))
	}
	return hs
}

// Template parses a --format template with docker's helper functions
// (json, join, lower, upper, split, title, truncate, pad, println). The
// escape \t in the text becomes a tab, as with docker.
func Template(text string) (*template.Template, error) {
	text = strings.ReplaceAll(text, `\t`, "\t")
	t, err := template.New("format").Option("missingkey=error").Funcs(funcs).Parse(text)
	if err != nil {
		return nil, Usagef("--format: %v", err)
	}
	return t, nil
}

var funcs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"join":  strings.Join,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"split": strings.Split,
	"title": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"truncate": func(s string, n int) string {
		if len(s) <= n {
			return s
		}
		return s[:n]
	},
	"pad": func(s string, left, right int) string {
		return strings.Repeat(" ", left) + s + strings.Repeat(" ", right)
	},
	"println": fmt.Sprintln,
}
