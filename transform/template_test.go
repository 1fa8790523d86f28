package transform

import (
	"errors"
	"strings"
	"testing"
)

func TestTemplate(t *testing.T) {
	vars := map[string]string{"aggregate_type": "order", "schema": "public", "table": "orders_7", "empty": ""}
	lookup := func(name string) (string, error) {
		v, ok := vars[name]
		if !ok {
			return "", errors.New("no such column")
		}
		return v, nil
	}
	tests := []struct {
		name, tmpl string
		want       string // rendered topic
		parseErr   string // substring of the ParseTemplate error
		execErr    string // substring of the Execute error
		vars       []string
	}{
		{name: "default outbox topic", tmpl: "{aggregate_type}.events", want: "order.events", vars: []string{"aggregate_type"}},
		{name: "literal only", tmpl: "fixed", want: "fixed"},
		{name: "variable repeated, listed once", tmpl: "{schema}.{table}.{schema}", want: "public.orders_7.public", vars: []string{"schema", "table"}},
		{name: "escaped braces are literal", tmpl: "a{{b}}c", want: "a{b}c"},
		{name: "adjacent variables", tmpl: "{schema}{table}", want: "publicorders_7", vars: []string{"schema", "table"}},
		// An empty variable would merge "order.events" and ".events".
		{name: "empty value is an error", tmpl: "{empty}.events", execErr: "{empty} is empty", vars: []string{"empty"}},
		{name: "missing column is an error naming it", tmpl: "{nope}.events", execErr: "{nope}: no such column", vars: []string{"nope"}},
		{name: "empty template", tmpl: "", parseErr: "empty template"},
		{name: "empty variable", tmpl: "a.{}", parseErr: `empty variable "{}"`},
		{name: "unterminated", tmpl: "a.{table", parseErr: "is not closed"},
		{name: "lone closing brace", tmpl: "a}", parseErr: "closes nothing"},
		{name: "bad name", tmpl: "{aggregate-type}", parseErr: `invalid variable name "aggregate-type"`},
		{name: "unicode name", tmpl: "{tablé}", parseErr: "invalid variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm, err := ParseTemplate(tt.tmpl)
			if tt.parseErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.parseErr) {
					t.Fatalf("ParseTemplate(%q) error = %v, want %q", tt.tmpl, err, tt.parseErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(tm.Vars(), ","); got != strings.Join(tt.vars, ",") {
				t.Errorf("Vars = %q, want %q", got, tt.vars)
			}
			got, err := tm.Execute(lookup)
			if tt.execErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.execErr) {
					t.Fatalf("Execute error = %v, want %q", err, tt.execErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Execute = %q, %v; want %q", got, err, tt.want)
			}
			if tm.String() != tt.tmpl {
				t.Errorf("String = %q", tm.String())
			}
		})
	}
}

func TestCheckTopic(t *testing.T) {
	for _, ok := range []string{"order.events", "a", "A-b_c.9", strings.Repeat("x", 249)} {
		if err := CheckTopic(ok); err != nil {
			t.Errorf("CheckTopic(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "order events", "order/events", "zamówienie.events", strings.Repeat("x", 250)} {
		if err := CheckTopic(bad); err == nil {
			t.Errorf("CheckTopic(%q) accepted an illegal topic", bad)
		}
	}
}
