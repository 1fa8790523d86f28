package mysql

import (
	"errors"

	"github.com/cdc-go/cdc/source"
)

// Sentinel errors; each is wrapped with the details that explain it.
var (
	// ErrPositionPurged: the binlog the stream must resume from is gone from
	// the server (PURGE BINARY LOGS, binlog_expire_logs_seconds). The changes
	// between the checkpoint and the oldest binlog left are lost to cdc.
	ErrPositionPurged = errors.New("binlog position purged from the server")
	// ErrServerIDConflict: another replica is registered with the server_id
	// this connector is configured with.
	ErrServerIDConflict = errors.New("server_id conflict")
	// ErrXATooLarge: an XA transaction committed whose prepared changes did
	// not fit the memory cdc holds them in (Config.MaxXABytes).
	ErrXATooLarge = errors.New("prepared XA transaction too large")
	// ErrServerChanged: the server source.dsn reaches is not the one cdc
	// started on (a failover, a name that now points elsewhere), found
	// when the binlog connection was opened again.
	ErrServerChanged = errors.New("the server changed")
)

// Problem is one unmet prerequisite, with its fix.
type Problem = source.Problem
