package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// defaultHealthURL is what `cdc healthcheck` asks without -url: the
// readiness endpoint on metrics.listen's usual port, from inside the
// container (the Dockerfile's HEALTHCHECK).
const defaultHealthURL = "http://127.0.0.1:9187/readyz"

// maxHealthBody caps how much of a failing answer healthcheck prints.
const maxHealthBody = 4 << 10

// healthcheck is `cdc healthcheck [-url URL] [-timeout D]`: one GET of URL;
// nil on 200, an error holding the status and the start of the body
// otherwise (exit 1). It exists because the container image has no curl.
func healthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", defaultHealthURL, "`URL` to GET; 200 means healthy")
	timeout := fs.Duration("timeout", 5*time.Second, "give up after `D`")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("healthcheck: unexpected argument %q", fs.Arg(0))}
	}
	if *timeout <= 0 {
		return usageError{errors.New("healthcheck: -timeout must be positive")}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return usageError{fmt.Errorf("healthcheck: -url: %w", err)}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w (is metrics.listen set, on this port?)", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxHealthBody))
	text := strings.TrimSpace(string(body))
	if resp.StatusCode != http.StatusOK {
		if text == "" {
			return fmt.Errorf("healthcheck: %s answered %s", *url, resp.Status)
		}
		return fmt.Errorf("healthcheck: %s answered %s: %s", *url, resp.Status, text)
	}
	fmt.Fprintf(stdout, "%s: %s\n", *url, resp.Status)
	return nil
}
