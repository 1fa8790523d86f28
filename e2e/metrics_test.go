//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return string(b)
}

// metrics.listen serves Prometheus metrics that follow the stream.
func TestPostgresMetrics(t *testing.T) {
	name := uniq("pgmetrics")
	db := pgConnect(t)
	pgExec(t, db, "CREATE SCHEMA "+name, "CREATE TABLE "+name+".t (id int PRIMARY KEY)")
	dropSlotAtEnd(t, db, name, name)
	port := freePort(t)
	p, _ := pgStartCDC(t, name, "  batch:\n    linger: 0s\n"+fmt.Sprintf("metrics:\n  listen: 127.0.0.1:%d\n", port))
	pgExec(t, db, "INSERT INTO "+name+".t VALUES (1), (2), (3)", "DELETE FROM "+name+".t WHERE id = 3")
	newConsumer(t, "^"+name+`\.`).atLeast(5, 60*time.Second) // 3 creates, a delete and its tombstone
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if got := httpGet(t, base+"/healthz"); strings.TrimSpace(got) != "ok" {
		t.Errorf("/healthz: %q", got)
	}
	if got := httpGet(t, base+"/readyz"); strings.TrimSpace(got) != `{"ready":true,"state":"streaming"}` {
		t.Errorf("/readyz: %q", got)
	}
	body := httpGet(t, base+"/metrics")
	for _, want := range []string{
		fmt.Sprintf(`cdc_events_total{op="c",table="%s.t"} 3`, name),
		fmt.Sprintf(`cdc_events_total{op="d",table="%s.t"} 1`, name),
		`cdc_source_transactions_total 2`,
		fmt.Sprintf(`cdc_schema_versions_total{table="%s.t"} 1`, name),
		`cdc_kafka_commit_seconds_count`,
		`cdc_checkpoint_seq`,
		`cdc_route_rejected_total 0`,
		`cdc_outbox_version_gaps_total 0`,
		`cdc_connector_state{state="streaming"} 1`,
		`cdc_connector_state{state="reconnecting"} 0`,
		`cdc_reconnects_total{component="source"} 0`,
		`cdc_reconnects_total{component="kafka"} 0`,
		`cdc_source_lag_bytes `,
		`cdc_retention_state 0`,
		`cdc_retention_headroom_bytes `, // safe_wal_size under the test server's max_slot_wal_keep_size
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
	p.stopOK()
}
