package main

import (
	"errors"

	"github.com/cdc-go/cdc/pipeline"
	"github.com/cdc-go/cdc/sink/kafka"
	"github.com/cdc-go/cdc/source/mysql"
	"github.com/cdc-go/cdc/source/postgres"
)

// exitHalted is the exit code of a `cdc run` that stopped on a problem a
// restart cannot fix (docs/operations.md): another instance took over, the
// source no longer holds the checkpoint's position, a schema change breaks
// the configured compatibility. An orchestrator should not restart it
// (systemd: RestartPreventExitStatus=3) but alert: an operator must act.
const exitHalted = 3

// haltError marks an error that halts the connector for good (exitHalted).
type haltError struct{ err error }

func (e haltError) Error() string { return e.err.Error() }
func (e haltError) Unwrap() error { return e.err }

// errOtherServer: the checkpoint was written from another database server
// than source.dsn points at; resuming at its position there would skip or
// invent changes.
var errOtherServer = errors.New("checkpoint of another server")

// haltComponent tells whether err halts the connector for good, and which
// component /readyz names for it.
func haltComponent(err error) (string, bool) {
	for _, h := range []struct {
		err       error
		component string
	}{
		{kafka.ErrFenced, componentConnector},
		{kafka.ErrTopicDenied, componentKafka},
		{pipeline.ErrIncompatibleSchema, componentSchema},
		{postgres.ErrSlotLost, componentRetention},
		{postgres.ErrSlotAhead, componentSource},
		{errOtherServer, componentSource},
		{mysql.ErrServerChanged, componentSource},
		{postgres.ErrServerChanged, componentSource},
		{mysql.ErrPositionPurged, componentRetention},
	} {
		if errors.Is(err, h.err) {
			return h.component, true
		}
	}
	return "", false
}
