package kafka

import (
	"context"
)

// Ping checks that one of c's brokers answers, within ctx, and accepts the
// TLS and SASL settings: a refused login is ErrAuthentication, no answer
// ErrUnreachable. It opens and closes its own client; `cdc check` uses it.
func Ping(ctx context.Context, c Cluster) error {
	cl, err := c.NewClient()
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.Ping(ctx); err != nil {
		return c.connectError(err)
	}
	return nil
}
