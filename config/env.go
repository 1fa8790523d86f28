package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxSecretSize bounds what ${file:...} reads.
const maxSecretSize = 1 << 20

// expand substitutes secrets in one scalar value, after YAML parsing, so a
// secret may hold any character (":", "#", quotes, newlines):
//
//	${VAR}          the environment variable VAR; an error when unset
//	${VAR:-text}    VAR, or text when VAR is unset or empty
//	${file:PATH}    the file's contents less one trailing newline
//	$$              a literal "$"
//
// Any other "$" is kept as it is. text is literal and cannot contain "}".
// Errors name the variable or file, never a value.
func expand(s string, lookup func(string) (string, bool), readFile func(string) (string, error)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c != '$' || i+1 == len(s):
			b.WriteByte(c)
			i++
		case s[i+1] == '$':
			b.WriteByte('$')
			i += 2
		case s[i+1] == '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", fmt.Errorf(`unterminated "${" at offset %d (close it with "}", or write "$$" for a literal "$")`, i)
			}
			v, err := substitute(s[i+2:i+2+end], lookup, readFile)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			i += 2 + end + 1
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

// substitute resolves the inside of one ${...}.
func substitute(ref string, lookup func(string) (string, bool), readFile func(string) (string, error)) (string, error) {
	if p, ok := strings.CutPrefix(ref, "file:"); ok {
		if p == "" {
			return "", errors.New(`"${file:}" names no file (write ${file:/path/to/secret})`)
		}
		return readFile(p)
	}
	name, def, hasDef := strings.Cut(ref, ":-")
	if !validVarName(name) {
		hint := ""
		if strings.ContainsAny(name, "-=?") {
			hint = "; for a default write ${VAR:-default}"
		}
		return "", fmt.Errorf(`invalid variable name %q in "${%s}" (letters, digits and _, not starting with a digit%s)`, name, ref, hint)
	}
	if strings.Contains(def, "${") {
		return "", fmt.Errorf(`the default of "${%s}" cannot contain "${" (defaults are literal text)`, ref)
	}
	v, ok := lookup(name)
	switch {
	case hasDef && v == "":
		return def, nil
	case !ok:
		return "", fmt.Errorf("environment variable %s is not set (export it, or write ${%s:-default})", name, name)
	}
	return v, nil
}

func validVarName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// secretReader returns the ${file:...} reader for a config file: relative
// paths are taken from the config file's directory. It reads only regular
// files (a FIFO or device would block or never end) of at most 1 MiB, and
// trims one trailing "\n" or "\r\n".
func secretReader(configFile string) func(string) (string, error) {
	dir := filepath.Dir(configFile)
	return func(p string) (string, error) {
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		s, err := readSecret(p)
		if err != nil {
			return "", fmt.Errorf("reading secret file %s: %w", p, err)
		}
		return s, nil
	}
}

func readSecret(p string) (string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretSize+1))
	if err != nil {
		return "", err
	}
	if len(data) > maxSecretSize {
		return "", fmt.Errorf("larger than %d bytes", maxSecretSize)
	}
	s := string(data)
	if t, ok := strings.CutSuffix(s, "\r\n"); ok {
		return t, nil
	}
	return strings.TrimSuffix(s, "\n"), nil
}
