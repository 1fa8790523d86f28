package transform

import (
	"errors"
	"fmt"
	"strings"
)

// Template is a parsed topic template such as "{prefix}.{schema}.orders" or
// "{aggregate_type}.events": literal text with variables in braces. A
// variable name is letters, digits and '_'; "{{" and "}}" stand for literal
// braces. A Template is immutable and safe for concurrent use.
type Template struct {
	text  string
	parts []tmplPart
}

type tmplPart struct {
	lit  string // literal text, when name is ""
	name string
}

// ParseTemplate parses s. It fails on an empty template, an unterminated
// or empty "{}", a name with other characters than letters, digits and '_',
// and a lone "}".
func ParseTemplate(s string) (*Template, error) {
	if s == "" {
		return nil, errors.New("empty template")
	}
	t := &Template{text: s}
	var lit strings.Builder
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == '{' && i+1 < len(s) && s[i+1] == '{':
			lit.WriteByte('{')
			i += 2
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			lit.WriteByte('}')
			i += 2
		case c == '}':
			return nil, fmt.Errorf(`template %q: "}" at offset %d closes nothing (write "}}" for a literal brace)`, s, i)
		case c == '{':
			end := strings.IndexByte(s[i+1:], '}')
			if end < 0 {
				return nil, fmt.Errorf(`template %q: "{" at offset %d is not closed (write "{{" for a literal brace)`, s, i)
			}
			name := s[i+1 : i+1+end]
			if name == "" {
				return nil, fmt.Errorf(`template %q: empty variable "{}" at offset %d`, s, i)
			}
			if !identifier(name) {
				return nil, fmt.Errorf("template %q: invalid variable name %q (letters, digits and _)", s, name)
			}
			if lit.Len() > 0 {
				t.parts = append(t.parts, tmplPart{lit: lit.String()})
				lit.Reset()
			}
			t.parts = append(t.parts, tmplPart{name: name})
			i += end + 2
		default:
			lit.WriteByte(c)
			i++
		}
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, tmplPart{lit: lit.String()})
	}
	return t, nil
}

func identifier(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}

// String returns the template's source text.
func (t *Template) String() string { return t.text }

// Vars lists the variable names in order of first use.
func (t *Template) Vars() []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range t.parts {
		if p.name != "" && !seen[p.name] {
			seen[p.name] = true
			out = append(out, p.name)
		}
	}
	return out
}

// Execute renders the template, asking lookup for each variable's value.
// It fails when lookup fails or gives an empty value: an empty part would
// silently merge topics ("order.events" and ".events").
func (t *Template) Execute(lookup func(name string) (string, error)) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.name == "" {
			b.WriteString(p.lit)
			continue
		}
		v, err := lookup(p.name)
		if err != nil {
			return "", fmt.Errorf("topic template %q: {%s}: %w", t.text, p.name, err)
		}
		if v == "" {
			return "", fmt.Errorf("topic template %q: {%s} is empty", t.text, p.name)
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// maxTopic is Kafka's limit on topic names.
const maxTopic = 249

// CheckTopic reports whether name is a legal Kafka topic name: 1 to 249 of
// the characters a-z, A-Z, 0-9, '.', '_' and '-', and not "." or "..".
func CheckTopic(name string) error {
	switch {
	case name == "":
		return errors.New("empty topic name")
	case name == "." || name == "..":
		return fmt.Errorf("%q is not a valid topic name", name)
	case len(name) > maxTopic:
		return fmt.Errorf("topic name %.40q... is %d characters long; Kafka allows at most %d", name, len(name), maxTopic)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf(`topic name %q has %q; Kafka allows only letters, digits, ".", "_" and "-"`, name, c)
		}
	}
	return nil
}
