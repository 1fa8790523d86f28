package source

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Problem is one unmet prerequisite of a source, with the statement or
// setting that fixes it. `cdc check` prints them; Open refuses to start on
// any that is not a warning.
type Problem struct {
	Message string
	Fix     string
	// Warning problems do not stop the connector (a table whose deletes
	// would lose their key, GTIDs off, ...).
	Warning bool
}

func (p Problem) Error() string {
	if p.Fix == "" {
		return p.Message
	}
	return p.Message + "; fix: " + p.Fix
}

// Triage logs the warnings among probs and returns the others joined into
// one error, or nil.
func Triage(probs []Problem, log *slog.Logger) error {
	var fatal []error
	for _, p := range probs {
		if p.Warning {
			log.Warn(p.Message, "fix", p.Fix)
			continue
		}
		fatal = append(fatal, p)
	}
	return errors.Join(fatal...)
}

// Abbreviate joins items with ", ", keeping the first max of them and
// saying how many more there are: a problem about 200,000 tables stays one
// readable line.
func Abbreviate(items []string, max int) string {
	if len(items) <= max {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:max], ", "), len(items)-max)
}
