package schema_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// miniValidator checks instances against the subset of JSON Schema 2020-12
// that RowJSONSchema and EnvelopeJSONSchema emit. No validator library is in
// the module cache and adding one to go.mod is outside this package, so it
// is small and strict: a keyword it does not know fails the test instead of
// being ignored. Formats and contentEncoding are annotations, as in 2020-12.
type miniValidator struct {
	t    *testing.T
	byID map[string]map[string]any
}

var annotations = map[string]bool{
	"$schema": true, "$id": true, "$defs": true, "title": true, "description": true,
	"format": true, "contentEncoding": true,
}

func newMiniValidator(t *testing.T, docs ...[]byte) *miniValidator {
	t.Helper()
	v := &miniValidator{t: t, byID: map[string]map[string]any{}}
	for _, d := range docs {
		var s map[string]any
		if err := decodeJSON(d, &s); err != nil {
			t.Fatalf("schema is not JSON: %v", err)
		}
		v.register(s)
	}
	return v
}

func decodeJSON(b []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(out)
}

func (v *miniValidator) register(s any) {
	switch s := s.(type) {
	case map[string]any:
		if id, ok := s["$id"].(string); ok {
			v.byID[id] = s
		}
		for _, x := range s {
			v.register(x)
		}
	case []any:
		for _, x := range s {
			v.register(x)
		}
	}
}

// validate returns the violations of instance (JSON text) against the schema
// with the given $id.
func (v *miniValidator) validate(id string, instance []byte) []string {
	s, ok := v.byID[id]
	if !ok {
		v.t.Fatalf("no schema %q", id)
	}
	var inst any
	if err := decodeJSON(instance, &inst); err != nil {
		v.t.Fatalf("instance is not JSON: %v", err)
	}
	return v.check(s, s, inst, "")
}

func (v *miniValidator) check(s, root map[string]any, inst any, path string) []string {
	if _, ok := s["$id"]; ok {
		root = s
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	for kw, arg := range s {
		switch {
		case annotations[kw] || strings.HasPrefix(kw, "x-"):
		case kw == "type":
			var types []string
			switch a := arg.(type) {
			case string:
				types = []string{a}
			case []any:
				for _, x := range a {
					types = append(types, x.(string))
				}
			}
			if !slices.ContainsFunc(types, func(t string) bool { return hasType(inst, t) }) {
				fail("%v is not of type %v", inst, types)
			}
		case kw == "enum":
			if !slices.ContainsFunc(arg.([]any), func(x any) bool { return jsonEqual(x, inst) }) {
				fail("%v not in enum %v", inst, arg)
			}
		case kw == "const":
			if !jsonEqual(arg, inst) {
				fail("%v is not %v", inst, arg)
			}
		case kw == "pattern":
			if str, ok := inst.(string); ok && !regexp.MustCompile(arg.(string)).MatchString(str) {
				fail("%q does not match %s", str, arg)
			}
		case kw == "minimum":
			if n, ok := inst.(json.Number); ok && strings.HasPrefix(n.String(), "-") {
				fail("%s below minimum", n)
			}
		case kw == "properties":
			if obj, ok := inst.(map[string]any); ok {
				for name, sub := range arg.(map[string]any) {
					if x, present := obj[name]; present {
						errs = append(errs, v.check(sub.(map[string]any), root, x, path+"/"+name)...)
					}
				}
			}
		case kw == "required":
			if obj, ok := inst.(map[string]any); ok {
				for _, name := range arg.([]any) {
					if _, present := obj[name.(string)]; !present {
						fail("missing %q", name)
					}
				}
			}
		case kw == "additionalProperties":
			if obj, ok := inst.(map[string]any); ok && arg == false {
				props, _ := s["properties"].(map[string]any)
				for name := range obj {
					if _, known := props[name]; !known {
						fail("unexpected property %q", name)
					}
				}
			}
		case kw == "items":
			if arr, ok := inst.([]any); ok {
				for i, x := range arr {
					errs = append(errs, v.check(arg.(map[string]any), root, x, fmt.Sprintf("%s/%d", path, i))...)
				}
			}
		case kw == "uniqueItems":
			if arr, ok := inst.([]any); ok && arg == true {
				for i := range arr {
					for j := i + 1; j < len(arr); j++ {
						if jsonEqual(arr[i], arr[j]) {
							fail("duplicate item %v", arr[i])
						}
					}
				}
			}
		case kw == "anyOf":
			matched := false
			for _, sub := range arg.([]any) {
				if len(v.check(sub.(map[string]any), root, inst, path)) == 0 {
					matched = true
					break
				}
			}
			if !matched {
				fail("%v matches no anyOf branch", inst)
			}
		case kw == "$ref":
			ref := arg.(string)
			target, targetRoot := v.byID[ref], v.byID[ref]
			if strings.HasPrefix(ref, "#/") {
				var cur any = root
				for _, p := range strings.Split(ref[2:], "/") {
					cur = cur.(map[string]any)[p]
				}
				target, targetRoot = cur.(map[string]any), root
			}
			if target == nil {
				v.t.Fatalf("unresolved $ref %q", ref)
			}
			errs = append(errs, v.check(target, targetRoot, inst, path)...)
		default:
			v.t.Fatalf("miniValidator does not know keyword %q", kw)
		}
	}
	return errs
}

func hasType(inst any, t string) bool {
	switch x := inst.(type) {
	case nil:
		return t == "null"
	case bool:
		return t == "boolean"
	case string:
		return t == "string"
	case json.Number:
		if t == "number" {
			return true
		}
		return t == "integer" && !strings.ContainsAny(x.String(), ".eE")
	case []any:
		return t == "array"
	case map[string]any:
		return t == "object"
	}
	return false
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
