package postgres

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pglogrepl"
)

// LSN is a Postgres write-ahead-log position, the resume point of this
// source. Its one text form is Postgres's own: two upper-case hex numbers
// separated by a slash ("16/B374D848"). A checkpointed LSN is always the end
// of a committed transaction (or a keepalive position reached with no
// transaction open), so a restart there neither repeats nor skips one.
type LSN pglogrepl.LSN

// String returns the text form, "X/X".
func (l LSN) String() string { return fmt.Sprintf("%X/%X", uint32(l>>32), uint32(l)) }

// MarshalText implements encoding.TextMarshaler.
func (l LSN) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// ParseLSN parses the text form written by String. It accepts exactly two hex
// fields of at most eight digits each; anything else is an error.
func ParseLSN(s string) (LSN, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok || hi == "" || lo == "" || len(hi) > 8 || len(lo) > 8 {
		return 0, fmt.Errorf("parsing LSN %q: want the form X/X with hex fields", s)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("parsing LSN %q: %w", s, err)
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("parsing LSN %q: %w", s, err)
	}
	return LSN(h<<32 | l), nil
}
