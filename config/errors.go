package config

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a config file. Its text is a single line,
// "<file>:<line>: <msg>", or "<file>: <msg>" when the line is unknown; Msg
// names the key by its dotted path and says how to fix the problem. Load,
// Parse and Validate return one *Error, or several joined with errors.Join;
// use errors.As to reach them.
type Error struct {
	File string // the path given to Load or the name given to Parse; "" for a Config built in code
	Line int    // 1-based; 0 when unknown
	Key  string // dotted path of the key, e.g. "source.tables[2]"; "" for the file as a whole
	Msg  string // what is wrong and the fix
	Err  error  // the cause, when there is one (reading a secret file, parsing YAML)
}

func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		fmt.Fprintf(&b, "%s: ", e.File)
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	b.WriteString(e.Msg)
	// One problem, one line: a name or message holding a newline must not
	// split it.
	return strings.ReplaceAll(b.String(), "\n", `\n`)
}

func (e *Error) Unwrap() error { return e.Err }

// joinErrors returns nil, the single error, or errors.Join of errs sorted by
// line (errors with no line first) so that they read top to bottom.
func joinErrors(errs []*Error) error {
	slices.SortStableFunc(errs, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}

// checker collects validation errors, locating each key in the file.
type checker struct {
	file string
	pos  *positions
	errs []*Error
}

// add records that key's value is wrong: "key: <msg>".
func (v *checker) add(key, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.file, Line: v.pos.line(key), Key: key,
		Msg: key + ": " + fmt.Sprintf(format, args...)})
}

// required records that key is missing: "key is required <hint>".
func (v *checker) required(key, hint string) {
	msg := key + " is required"
	if hint != "" {
		msg += " " + hint
	}
	v.errs = append(v.errs, &Error{File: v.file, Line: v.pos.line(key), Key: key, Msg: msg})
}

// onlyFor records that key, set (by value or in the file), applies only to
// sources of another type.
func (v *checker) onlyFor(key string, set bool, sourceType SourceType) {
	if set || v.has(key) {
		v.add(key, "applies only to %s sources (remove it, or set source.type: %s)", sourceType, sourceType)
	}
}

// has reports whether the file gave key a value.
func (v *checker) has(key string) bool { return v.pos.has(key) }

func (v *checker) err() error { return joinErrors(v.errs) }
