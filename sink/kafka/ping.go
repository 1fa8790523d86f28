package kafka

import (
	"context"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Ping checks that one of brokers answers, within ctx. It opens and closes
// its own client; `cdc check` uses it.
func Ping(ctx context.Context, brokers []string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return fmt.Errorf("creating kafka client: %w", err)
	}
	defer cl.Close()
	if err := cl.Ping(ctx); err != nil {
		return fmt.Errorf("connecting to kafka brokers %s: %w: %w", strings.Join(brokers, ","), ErrUnreachable, err)
	}
	return nil
}
