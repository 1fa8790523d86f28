package transform

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/cdc-go/cdc/schema"
)

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestParseMask(t *testing.T) {
	tests := []struct {
		in   string
		want Mask
		err  string
	}{
		{in: "hash", want: Mask{Kind: MaskHash}},
		{in: "null", want: Mask{Kind: MaskNull}},
		{in: "", want: Mask{Kind: MaskNull}}, // YAML null
		{in: "truncate:4", want: Mask{Kind: MaskTruncate, N: 4}},
		{in: "truncate:0", want: Mask{Kind: MaskTruncate, N: 0}},
		{in: "truncate", err: "needs the number"},
		{in: "truncate:-1", err: "truncate takes a number"},
		{in: "truncate:x", err: "truncate takes a number"},
		{in: "sha256", err: `unknown mask "sha256"`},
	}
	for _, tt := range tests {
		got, err := ParseMask(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseMask(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseMask(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if tt.in != "" && got.String() != tt.in {
			t.Errorf("String() = %q, want %q", got.String(), tt.in)
		}
	}
}

func TestMaskApply(t *testing.T) {
	hash, trunc4, null := Mask{Kind: MaskHash}, Mask{Kind: MaskTruncate, N: 4}, Mask{Kind: MaskNull}
	tests := []struct {
		name string
		mask Mask
		in   any
		salt string
		want any
	}{
		// Hash: hex SHA-256 of salt then the value's text, so consumers
		// can compute it themselves from a known value and the salt.
		{"hash is salt then value", hash, "a@b.c", "pepper", sha("peppera@b.c")},
		{"hash without salt", hash, "a@b.c", "", sha("a@b.c")},
		{"hash of a number uses its decimal text", hash, int64(42), "s", sha("s42")},
		{"hash of bytes uses the raw bytes", hash, []byte{0xff, 0x00}, "s", sha("s\xff\x00")},
		{"hash of a JSON string uses the unquoted text", hash, json.RawMessage(`"x"`), "s", sha("sx")},
		{"hash keeps NULL", hash, nil, "s", nil},
		{"hash keeps unavailable", hash, schema.Unavailable{}, "s", schema.Unavailable{}},
		// Truncate counts characters, never splitting a multi-byte one.
		{"truncate ascii", trunc4, "4111111111111111", "", "4111"},
		{"truncate counts runes", trunc4, "żółć-gęś", "", "żółć"},
		{"truncate keeps emoji whole", Mask{Kind: MaskTruncate, N: 1}, "😀x", "", "😀"},
		{"truncate shorter value is unchanged", trunc4, "ab", "", "ab"},
		{"truncate to zero", Mask{Kind: MaskTruncate, N: 0}, "abc", "", ""},
		{"truncate a number gives text", trunc4, int64(1234567), "", "1234"},
		{"truncate bytes counts bytes", trunc4, []byte("abcdef"), "", []byte("abcd")},
		{"truncate keeps NULL", trunc4, nil, "", nil},
		{"null", null, "secret", "", nil},
		{"null of NULL", null, nil, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.mask.Apply(tt.in, tt.salt); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Apply(%#v) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
	// Stable: the same input gives the same hash; salted: another salt
	// gives another.
	if hash.Apply("x", "a") != hash.Apply("x", "a") || hash.Apply("x", "a") == hash.Apply("x", "b") {
		t.Error("hash is not stable or not salted")
	}
}

func TestTruncateInvalidUTF8(t *testing.T) {
	// An invalid byte counts as one character and is never split further.
	if got := truncateRunes("a\xffbc", 2); got != "a\xff" {
		t.Errorf("got %q", got)
	}
}
