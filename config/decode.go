package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Load reads the connector config at path, then decodes, expands secrets
// from the process environment, applies defaults and validates it as Parse
// does. It blocks on reading the file and any ${file:...} secrets.
func Load(path string) (*Config, error) {
	data, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, os.LookupEnv)
}

func readConfigFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading config %s: %w", path, err)
	}
	defer f.Close()
	// A connector's file is a few KiB; refuse a huge one (a wrong path, a
	// log file) before reading it whole.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading config %s: %w", path, err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("reading config %s: the file is larger than %d KiB; is it the connector's YAML file?", path, MaxFileBytes>>10)
	}
	return data, nil
}

// LoadWithoutSource is Load for commands that talk only to Kafka (`cdc
// tail`): a secret under source.* that cannot be expanded (an unset
// variable, an unreadable file: the database password is not needed) is
// replaced by UnsetSecret instead of failing. Everything else is checked as
// Load checks it.
func LoadWithoutSource(path string) (*Config, error) {
	data, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	return parse(path, data, os.LookupEnv, func(key string) bool { return strings.HasPrefix(key, "source.") })
}

// UnsetSecret stands for a source secret LoadWithoutSource did not expand.
const UnsetSecret = "<unset>"

// MaxFileBytes caps the size of a config file Load reads.
const MaxFileBytes = 1 << 20

// Parse decodes data, one YAML document, into a Config, expands secrets in
// string values with env (nil means an empty environment) and files, applies
// defaults and validates. name is the file's path: it prefixes every error,
// becomes Config.File, and relative ${file:...} paths are taken from its
// directory.
//
// Decoding is strict: unknown keys, duplicate keys, values of the wrong type
// and unset variables are errors, all reported at once; validation runs
// only when decoding succeeded. Every error is an *Error (several are joined
// with errors.Join).
func Parse(name string, data []byte, env func(string) (string, bool)) (*Config, error) {
	return parse(name, data, env, nil)
}

// parse is Parse; a secret whose expansion fails under a key lenient
// accepts becomes UnsetSecret.
func parse(name string, data []byte, env func(string) (string, bool), lenient func(key string) bool) (*Config, error) {
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	root, err := parseYAML(name, data)
	if err != nil {
		return nil, err
	}
	d := &decoder{
		file:     name,
		env:      env,
		readFile: secretReader(name),
		pos:      &positions{lines: map[string]int{}, set: map[string]bool{}},
		lenient:  lenient,
	}
	c := &Config{File: name, pos: d.pos}
	d.value(root, "", root.Line, reflect.ValueOf(c).Elem())
	if err := joinErrors(d.errs); err != nil {
		return nil, err
	}
	c.defaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// positions records where each key of a loaded config was written.
type positions struct {
	lines map[string]int  // dotted key -> line of the key (or list item), null values included
	set   map[string]bool // keys written with a non-null value
}

// has reports whether the file gave key a value; false for a nil p.
func (p *positions) has(key string) bool { return p != nil && p.set[key] }

// line is the line of key or, when the file left key out, of its nearest
// parent; 0 when none is known.
func (p *positions) line(key string) int {
	if p == nil {
		return 0
	}
	for key != "" {
		if l, ok := p.lines[key]; ok {
			return l
		}
		key = parentKey(key)
	}
	return 0
}

// parentKey is "source" for "source.tables" and "source.tables" for
// "source.tables[2]".
func parentKey(key string) string {
	if strings.HasSuffix(key, "]") {
		if i := strings.LastIndexByte(key, '['); i >= 0 {
			return key[:i]
		}
	}
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		return key[:i]
	}
	return ""
}

func joinKey(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// parseYAML parses data as one YAML document and returns its root node, or
// an *Error naming the line of a syntax error.
func parseYAML(file string, data []byte) (*yaml.Node, error) {
	empty := &Error{File: file, Msg: "the file is empty; a connector needs at least name, source and kafka (see docs/config.md)"}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, empty
		}
		return nil, syntaxError(file, data, err)
	}
	// A later document is an error unless it is empty ("---" at the end).
	for {
		var extra yaml.Node
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, syntaxError(file, data, err)
		}
		if len(extra.Content) > 0 && !isNull(extra.Content[0]) {
			return nil, &Error{File: file, Line: extra.Line,
				Msg: "a second YAML document starts here; a file configures one connector (put each in its own file)"}
		}
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, empty
	}
	return doc.Content[0], nil
}

// syntaxError turns a yaml.v3 parse error into one line with the right line
// number. yaml.v3 reports scanner errors 1-based, parser errors 0-based (at
// the start of the construct being parsed) and drops "line N" for line
// zero; reader errors (bad UTF-8, control characters) have no line, which
// is found here.
func syntaxError(file string, data []byte, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.ReplaceAll(msg, "\n", " ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			if l, err := strconv.Atoi(n); err == nil {
				line, msg = l, after
			}
		}
	}
	switch {
	case isParserError(msg):
		line++ // 0-based, or absent for line 1
	case isReaderError(msg):
		line = badByteLine(data)
	case strings.HasPrefix(msg, "unknown anchor '"):
		name := strings.TrimSuffix(strings.TrimPrefix(msg, "unknown anchor '"), "' referenced")
		line = lineOf(data, "*"+name)
	case strings.HasPrefix(msg, "anchor '"):
		name := strings.TrimSuffix(strings.TrimPrefix(msg, "anchor '"), "' value contains itself")
		line = lineOf(data, "&"+name)
	case line == 0:
		line = 1 // a scanner error on line 1 is reported without a line
	}
	return &Error{File: file, Line: line, Msg: "invalid YAML: " + msg, Err: err}
}

func isParserError(msg string) bool {
	switch msg {
	case "did not find expected <stream-start>", "did not find expected <document start>",
		"did not find expected node content", "did not find expected key",
		"did not find expected '-' indicator", "did not find expected ',' or ']'",
		"did not find expected ',' or '}'", "found undefined tag handle",
		"found duplicate %YAML directive", "found incompatible YAML document",
		"found duplicate %TAG directive":
		return true
	}
	return false
}

func isReaderError(msg string) bool {
	return strings.Contains(msg, "UTF-8") || strings.Contains(msg, "UTF-16") ||
		strings.Contains(msg, "surrogate") || msg == "control characters are not allowed" ||
		msg == "invalid Unicode character" || strings.HasPrefix(msg, "input error")
}

// badByteLine is the line of the first byte YAML does not accept: invalid
// UTF-8, or a control character other than tab, newline and return.
func badByteLine(data []byte) int {
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1,
			r < 0x20 && r != '\t' && r != '\n' && r != '\r',
			r >= 0x7f && r < 0xa0 && r != 0x85,
			r >= 0xd800 && r < 0xe000, r == 0xfffe, r == 0xffff:
			return line
		case r == '\n':
			line++
		}
		i += size
	}
	return 0
}

// lineOf is the line of the first occurrence of s in data, or 0.
func lineOf(data []byte, s string) int {
	i := bytes.Index(data, []byte(s))
	if i < 0 {
		return 0
	}
	return bytes.Count(data[:i], []byte("\n")) + 1
}

// decoder walks the YAML node tree against the Config struct, using the
// yaml tags of its fields, so every error can name its dotted key and line.
type decoder struct {
	file     string
	env      func(string) (string, bool)
	readFile func(string) (string, error)
	pos      *positions
	errs     []*Error
	lenient  func(key string) bool
}

// fail records that the value of key is wrong: "key: <msg>".
func (d *decoder) fail(line int, key, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if key != "" {
		msg = key + ": " + msg
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Key: key, Msg: msg})
}

// failKey records that key itself is wrong; msg names it.
func (d *decoder) failKey(line int, key, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// value decodes n, found at key on line, into v. A null value leaves v as
// it is (the key counts as not written).
func (d *decoder) value(n *yaml.Node, key string, line int, v reflect.Value) {
	n = resolve(n)
	if n == nil || isNull(n) {
		return
	}
	d.pos.set[key] = true
	if u, ok := v.Addr().Interface().(yaml.Unmarshaler); ok {
		if n.Kind == yaml.ScalarNode {
			s, ok := d.expand(n.Value, key, line)
			if !ok {
				return
			}
			cp := *n
			cp.Value = s
			n = &cp
		}
		if err := u.UnmarshalYAML(n); err != nil {
			d.errs = append(d.errs, &Error{File: d.file, Line: line, Key: key, Msg: key + ": " + err.Error(), Err: err})
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.mapping(n, key, line, v)
	case reflect.Pointer:
		// An optional section or value: nil when absent or null.
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, key, line, v.Elem())
	case reflect.Map:
		d.stringMap(n, key, line, v)
	case reflect.Slice:
		d.sequence(n, key, line, v)
	case reflect.String:
		if s, ok := d.scalar(n, key, line, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		s, ok := d.scalar(n, key, line, "true or false")
		if !ok {
			return
		}
		switch s {
		case "true", "True", "TRUE":
			v.SetBool(true)
		case "false", "False", "FALSE":
			v.SetBool(false)
		default:
			d.fail(line, key, "expected true or false, got %s", d.quote(s, n))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s, ok := d.scalar(n, key, line, "an integer")
		if !ok {
			return
		}
		i, err := parseInt(s)
		switch {
		case err != nil && errors.Is(err, strconv.ErrRange), err == nil && v.OverflowInt(i):
			lo, hi := intRange(v.Type())
			d.fail(line, key, "expected an integer between %d and %d, got %s", lo, hi, d.quote(s, n))
		case err != nil:
			d.fail(line, key, "expected an integer, got %s", d.quote(s, n))
		default:
			v.SetInt(i)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		s, ok := d.scalar(n, key, line, "an integer")
		if !ok {
			return
		}
		i, err := parseInt(s)
		switch {
		case err != nil && errors.Is(err, strconv.ErrRange), err == nil && (i < 0 || v.OverflowUint(uint64(i))):
			d.fail(line, key, "expected an integer between 0 and %d, got %s", uintMax(v.Type()), d.quote(s, n))
		case err != nil:
			d.fail(line, key, "expected an integer, got %s", d.quote(s, n))
		default:
			v.SetUint(uint64(i))
		}
	default:
		// Only reachable if a field of an unsupported type is added.
		d.fail(line, key, "cannot decode into a field of type %s", v.Type())
	}
}

// scalar returns n's value with secrets expanded, or records that n is not
// a scalar.
func (d *decoder) scalar(n *yaml.Node, key string, line int, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(line, key, "expected %s, got %s", want, kindName(n))
		return "", false
	}
	return d.expand(n.Value, key, line)
}

func (d *decoder) expand(s, key string, line int) (string, bool) {
	out, err := expand(s, d.env, d.readFile)
	if err != nil && d.lenient != nil && d.lenient(key) {
		return UnsetSecret, true
	}
	if err != nil {
		msg := err.Error()
		if key != "" {
			msg = key + ": " + msg
		}
		d.errs = append(d.errs, &Error{File: d.file, Line: line, Key: key, Msg: msg, Err: err})
		return "", false
	}
	return out, true
}

// quote shows a value in an error: the expanded value, and the text written
// in the file when expansion changed it.
func (d *decoder) quote(s string, n *yaml.Node) string {
	if s != n.Value {
		return fmt.Sprintf("%q (from %q)", s, n.Value)
	}
	return strconv.Quote(s)
}

func (d *decoder) sequence(n *yaml.Node, key string, line int, v reflect.Value) {
	if n.Kind != yaml.SequenceNode {
		hint := ""
		if n.Kind == yaml.ScalarNode {
			hint = fmt.Sprintf(" (write [%s] for a single entry)", n.Value)
		}
		d.fail(line, key, "expected a list, got %s%s", kindName(n), hint)
		return
	}
	out := reflect.MakeSlice(v.Type(), 0, len(n.Content))
	for i, item := range n.Content {
		ik := fmt.Sprintf("%s[%d]", key, i)
		d.pos.lines[ik] = item.Line
		elem := reflect.New(v.Type().Elem()).Elem()
		it := resolve(item)
		if it == nil || isNull(it) {
			d.fail(item.Line, ik, "expected a value, got null (remove the empty entry)")
			continue
		}
		d.value(it, ik, item.Line, elem)
		out = reflect.Append(out, elem)
	}
	v.Set(out)
}

// stringMap decodes a mapping with free-form keys (column names, say) into
// a map with string keys. A null value is stored as the element's zero
// value, so that "ssn: null" keeps its key.
func (d *decoder) stringMap(n *yaml.Node, key string, line int, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.fail(line, key, "expected a mapping, got %s", kindName(n))
		return
	}
	out := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := resolve(n.Content[i]), n.Content[i+1]
		kline := n.Content[i].Line
		if kn == nil || kn.Kind != yaml.ScalarNode || kn.ShortTag() == "!!merge" {
			d.failKey(kline, key, "keys %s must be plain names, got %s", in(key), kindName(kn))
			continue
		}
		path := joinKey(key, kn.Value)
		if l, dup := first[kn.Value]; dup {
			d.fail(kline, path, "duplicate key %q %s (first on line %d; remove one)", kn.Value, in(key), l)
			continue
		}
		first[kn.Value] = kline
		d.pos.lines[path] = kline
		elem := reflect.New(v.Type().Elem()).Elem()
		d.value(vn, path, kline, elem)
		out.SetMapIndex(reflect.ValueOf(kn.Value).Convert(v.Type().Key()), elem)
	}
	v.Set(out)
}

func (d *decoder) mapping(n *yaml.Node, key string, line int, v reflect.Value) {
	fields := yamlFields(v.Type())
	if n.Kind != yaml.MappingNode {
		top := ""
		if key == "" {
			top = " at the top level"
		}
		d.fail(line, key, "expected a mapping with keys %s%s, got %s", strings.Join(fieldNames(fields), ", "), top, kindName(n))
		return
	}
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := resolve(n.Content[i]), n.Content[i+1]
		kline := n.Content[i].Line
		if kn == nil || kn.Kind != yaml.ScalarNode {
			d.failKey(kline, key, "keys %s must be plain names, got %s", in(key), kindName(kn))
			continue
		}
		name := kn.Value
		path := joinKey(key, name)
		if kn.ShortTag() == "!!merge" {
			d.failKey(kline, path, `merge keys ("<<") are not supported %s; write the keys out`, in(key))
			continue
		}
		if l, dup := first[name]; dup {
			d.fail(kline, path, "duplicate key %q %s (first on line %d; remove one)", name, in(key), l)
			continue
		}
		first[name] = kline
		idx, ok := fields[name]
		if !ok {
			d.failKey(kline, path, "%s", unknownKey(name, key, fields))
			continue
		}
		d.pos.lines[path] = kline
		d.value(vn, path, kline, v.Field(idx))
	}
}

func in(key string) string {
	if key == "" {
		return "at the top level"
	}
	return "in " + key
}

// unknownKey says which key was meant: a near spelling, or the section the
// key belongs to, and lists the valid keys.
func unknownKey(name, section string, fields map[string]int) string {
	valid := fieldNames(fields)
	var hint string
	if s := suggest(name, valid); s != "" {
		hint = fmt.Sprintf("did you mean %q? ", s)
	} else if elsewhere := sectionsOf(name); len(elsewhere) > 0 {
		hint = fmt.Sprintf("%q belongs in %s; ", name, strings.Join(elsewhere, " or "))
	}
	return fmt.Sprintf("unknown key %q %s (%svalid keys: %s)", name, in(section), hint, strings.Join(valid, ", "))
}

// yamlFields maps the yaml key of each decoded field of struct type t to its
// field index.
func yamlFields(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		if name := yamlName(t.Field(i)); name != "" {
			m[name] = i
		}
	}
	return m
}

func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// fieldNames lists the keys in field order, the order of the docs.
func fieldNames(fields map[string]int) []string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(fields[a], fields[b]) })
	return names
}

// sectionsOf lists the sections of Config ("kafka", "kafka.batch", or "the
// top level") that have a key called name.
func sectionsOf(name string) []string {
	var out []string
	var walk func(t reflect.Type, section string)
	walk = func(t reflect.Type, section string) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			key := yamlName(f)
			if key == "" {
				continue
			}
			if key == name {
				if section == "" {
					out = append(out, "the top level")
				} else {
					out = append(out, section)
				}
			}
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, joinKey(section, key))
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return out
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

func kindName(n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "null"
		}
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

// parseInt parses a decimal integer, or one with a 0x, 0o or 0b prefix, with
// optional _ separators. A leading zero does not make it octal.
func parseInt(s string) (int64, error) {
	t := strings.TrimLeft(s, "+-")
	if len(t) > 1 && t[0] == '0' && t[1] >= '0' && t[1] <= '9' {
		return strconv.ParseInt(s, 10, 64)
	}
	return strconv.ParseInt(s, 0, 64)
}

func intRange(t reflect.Type) (int64, int64) {
	bits := t.Bits()
	if bits == 64 {
		return math.MinInt64, math.MaxInt64
	}
	return -1 << (bits - 1), 1<<(bits-1) - 1
}

func uintMax(t reflect.Type) uint64 {
	if t.Bits() == 64 {
		return math.MaxUint64
	}
	return 1<<t.Bits() - 1
}

// suggest returns the candidate closest to s, ignoring case, "_" and "-",
// when it is within a small edit distance; else "".
func suggest(s string, candidates []string) string {
	norm := func(x string) string {
		return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(x))
	}
	ns := norm(s)
	limit := 1
	switch {
	case len(ns) >= 9:
		limit = 3
	case len(ns) >= 4:
		limit = 2
	}
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if d := editDistance(ns, norm(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of adjacent bytes.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
