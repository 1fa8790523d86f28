package mysql

import (
	"context"
	"fmt"

	"github.com/cdc-go/cdc/source"
)

// Plan reports what Open would do on the server for cfg: nothing is
// created or changed on a MySQL or MariaDB server (no slot, no signal
// table), so the steps only describe it; the problems are those `cdc
// check` reports.
func Plan(ctx context.Context, cfg Config) ([]source.PlanStep, []Problem, error) {
	cfg.defaults()
	db, _, err := connect(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	probs, st, err := check(ctx, db, cfg)
	if err != nil {
		return nil, probs, err
	}
	positions := "file positions"
	if st.gtid {
		positions = "GTIDs"
	}
	return []source.PlanStep{{
		Kind:   source.PlanKeep,
		Object: fmt.Sprintf("server %s %s", st.flavor, st.version),
		Detail: fmt.Sprintf("nothing is created on it: the binlog is read as replica server_id %d, by %s; %d captured table(s)", cfg.ServerID, positions, len(st.tables)),
	}}, probs, nil
}
