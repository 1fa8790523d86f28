package config

import "net"

// Metrics configures the Prometheus endpoint.
type Metrics struct {
	// Listen is the host:port serving /metrics (Prometheus text format) and
	// /healthz. Empty disables it. Default empty.
	Listen string `yaml:"listen"`
	// Pprof also serves Go's profiler at /debug/pprof/ on Listen, for
	// finding where the time goes (docs/benchmarks.md). Off by default:
	// a profile costs CPU while it runs and shows the process's internals.
	Pprof bool `yaml:"pprof"`
}

func (m *Metrics) validate(v *checker) {
	if m.Listen == "" {
		if m.Pprof {
			v.add("metrics.pprof", "needs metrics.listen: the profiler is served on the metrics endpoint")
		}
		return
	}
	if _, _, err := net.SplitHostPort(m.Listen); err != nil {
		v.add("metrics.listen", "want host:port (e.g. 127.0.0.1:9187 or :9187), got %q", m.Listen)
	}
}
