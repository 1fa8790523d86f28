package config

import "net"

// Metrics configures the Prometheus endpoint.
type Metrics struct {
	// Listen is the host:port serving /metrics (Prometheus text format) and
	// /healthz. Empty disables it. Default empty.
	Listen string `yaml:"listen"`
}

func (m *Metrics) validate(v *checker) {
	if m.Listen == "" {
		return
	}
	if _, _, err := net.SplitHostPort(m.Listen); err != nil {
		v.add("metrics.listen", "want host:port (e.g. 127.0.0.1:9187 or :9187), got %q", m.Listen)
	}
}
