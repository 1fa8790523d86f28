package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// healthcheck exits 0 on 200 and 1 otherwise, with the answer's body on
// stderr, so that a container's HEALTHCHECK says why it is unhealthy.
func TestHealthcheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/readyz":
			w.Write([]byte("ok\n"))
		case "/down":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"ready":false,"reason":"kafka unreachable"}` + "\n"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	tests := []struct {
		name       string
		args       []string
		code       int
		wantOut    string
		wantStderr string
	}{
		{"ready", []string{"-url", srv.URL + "/readyz"}, exitOK, "200 OK", ""},
		{"not ready prints the reason", []string{"-url", srv.URL + "/down"}, exitFailed, "", `503 Service Unavailable: {"ready":false,"reason":"kafka unreachable"}`},
		{"not found", []string{"-url", srv.URL + "/nope"}, exitFailed, "", "404 Not Found: 404 page not found"},
		{"nothing listens", []string{"-url", "http://127.0.0.1:1/readyz"}, exitFailed, "", "is metrics.listen set"},
		{"bad flag", []string{"-nope"}, exitUsage, "", "flag provided but not defined"},
		{"bad url", []string{"-url", "::"}, exitUsage, "", "healthcheck: -url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runMain(context.Background(), append([]string{"healthcheck"}, tc.args...), &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tc.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.wantOut) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tc.wantOut)
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tc.wantStderr)
			}
			if code != exitOK && strings.Count(stderr.String(), "\n") > 1 && tc.code != exitUsage {
				t.Errorf("want one line on stderr, got %q", stderr.String())
			}
		})
	}
}
