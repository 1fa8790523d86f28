package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"gopkg.in/yaml.v3"
)

// TLS configures a TLS connection: kafka.tls for the brokers, source.tls for
// a MySQL or MariaDB server (Postgres takes sslmode and sslrootcert in its
// DSN). Relative file paths are taken from the config file's directory, like
// ${file:...} secrets.
type TLS struct {
	// Enabled turns TLS on. It defaults to true when the section sets any
	// other key, so that naming a CA is enough.
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM file of the CA certificates that verify the server;
	// default the system's roots.
	CAFile string `yaml:"ca_file,omitempty"`
	// CertFile and KeyFile are the PEM client certificate (chain) and its
	// private key, for servers that authenticate clients by certificate;
	// both or neither.
	CertFile string `yaml:"cert_file,omitempty"`
	KeyFile  string `yaml:"key_file,omitempty"`
	// ServerName is the name the server certificate must carry; default the
	// host cdc connects to.
	ServerName string `yaml:"server_name,omitempty"`
	// InsecureSkipVerify accepts any server certificate: the connection is
	// encrypted but not authenticated. For tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify,omitempty"`
}

// set reports whether the section sets anything beyond enabled.
func (t *TLS) set() bool {
	return t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != "" || t.InsecureSkipVerify
}

// IsZero reports whether the section is absent, so that printing a config
// leaves it out.
func (t TLS) IsZero() bool { return !t.Enabled && !t.set() }

func (t *TLS) defaults(key string, has func(string) bool, dir string) {
	if !has(key+".enabled") && t.set() {
		t.Enabled = true
	}
	for _, p := range []*string{&t.CAFile, &t.CertFile, &t.KeyFile} {
		if *p != "" && !filepath.IsAbs(*p) && dir != "" {
			*p = filepath.Join(dir, *p)
		}
	}
}

func (t *TLS) validate(v *checker, key string) {
	if !t.Enabled {
		if t.set() {
			v.add(key+".enabled", "is false but the section sets other keys; set enabled: true, or remove the %s section", key)
		}
		return
	}
	if t.InsecureSkipVerify && t.CAFile != "" {
		v.add(key+".insecure_skip_verify", "verifies nothing, so %s.ca_file would be ignored; remove one of them", key)
	}
	if _, err := t.Config(); err != nil {
		var fe *tlsFileError
		if errors.As(err, &fe) {
			v.add(key+"."+fe.key, "%v", fe.err)
		} else {
			v.add(key, "%v", err)
		}
	}
}

// tlsFileError is a problem with one of the files of a TLS section.
type tlsFileError struct {
	key string // ca_file, cert_file or key_file
	err error
}

func (e *tlsFileError) Error() string { return e.key + ": " + e.err.Error() }
func (e *tlsFileError) Unwrap() error { return e.err }

// Config builds the tls.Config the section describes, reading its files;
// nil when TLS is disabled. It blocks on reading the files. Each call
// returns a new tls.Config, which the caller owns.
func (t *TLS) Config() (*tls.Config, error) {
	if t == nil || !t.Enabled {
		return nil, nil
	}
	c := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // the user asked for it, documented as test-only
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, &tlsFileError{"ca_file", fmt.Errorf("reading the CA certificates: %w", err)}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &tlsFileError{"ca_file", fmt.Errorf("%s holds no PEM certificate (want a file of -----BEGIN CERTIFICATE----- blocks)", t.CAFile)}
		}
		c.RootCAs = pool
	}
	switch {
	case t.CertFile != "" && t.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, &tlsFileError{"cert_file", fmt.Errorf("loading the client certificate and key_file: %w", err)}
		}
		c.Certificates = []tls.Certificate{cert}
	case t.CertFile != "":
		return nil, &tlsFileError{"key_file", errors.New("is required with cert_file (the client certificate's private key, PEM)")}
	case t.KeyFile != "":
		return nil, &tlsFileError{"cert_file", errors.New("is required with key_file (the client certificate, PEM)")}
	}
	return c, nil
}

// SASL authenticates cdc to the Kafka brokers (kafka.sasl). Over a
// connection without kafka.tls the password of PLAIN travels in clear text.
type SASL struct {
	Mechanism SASLMechanism `yaml:"mechanism,omitempty"`
	Username  string        `yaml:"username,omitempty"`
	// Password is a secret: write it as ${VAR} or ${file:/path}. Printing a
	// config masks it.
	Password string `yaml:"password,omitempty"`
}

// IsZero reports whether the section is absent.
func (s SASL) IsZero() bool { return s == SASL{} }

// String names the mechanism and the user, never the password.
func (s SASL) String() string {
	if s.Mechanism == "" {
		return "none"
	}
	return fmt.Sprintf("%s as %q", s.Mechanism, s.Username)
}

// SASLMechanism is kafka.sasl.mechanism.
type SASLMechanism string

// The SASL mechanisms.
const (
	SASLPlain       SASLMechanism = "plain"
	SASLScramSHA256 SASLMechanism = "scram-sha-256"
	SASLScramSHA512 SASLMechanism = "scram-sha-512"
)

func (SASLMechanism) values() []SASLMechanism {
	return []SASLMechanism{SASLPlain, SASLScramSHA256, SASLScramSHA512}
}

// UnmarshalYAML accepts only the known mechanisms.
func (m *SASLMechanism) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalEnum(n, m, "SASL mechanism", m.values())
}

func (s *SASL) validate(v *checker) {
	if s.IsZero() && !v.has("kafka.sasl") {
		return
	}
	if s.Mechanism == "" {
		v.required("kafka.sasl.mechanism", "(plain, scram-sha-256 or scram-sha-512)")
	}
	if s.Username == "" {
		v.required("kafka.sasl.username", "")
	}
	if s.Password == "" {
		v.required("kafka.sasl.password", "(write it as ${VAR} or ${file:/path/to/secret})")
	}
}

// Compression is kafka.compression, the codec of produced batches.
type Compression string

// The compression codecs.
const (
	CompressionNone   Compression = "none"
	CompressionGzip   Compression = "gzip"
	CompressionSnappy Compression = "snappy"
	CompressionLZ4    Compression = "lz4"
	CompressionZstd   Compression = "zstd"
)

func (Compression) values() []Compression {
	return []Compression{CompressionNone, CompressionGzip, CompressionSnappy, CompressionLZ4, CompressionZstd}
}

// UnmarshalYAML accepts only the known codecs.
func (c *Compression) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalEnum(n, c, "compression", c.values())
}

// OnTopicDenied is kafka.on_topic_denied.
type OnTopicDenied string

// The reactions to a topic the broker denies WRITE on.
const (
	TopicDeniedStop OnTopicDenied = "stop"
	TopicDeniedDLT  OnTopicDenied = "dlt"
)

func (OnTopicDenied) values() []OnTopicDenied {
	return []OnTopicDenied{TopicDeniedStop, TopicDeniedDLT}
}

// UnmarshalYAML accepts only stop and dlt.
func (o *OnTopicDenied) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalEnum(n, o, "on_topic_denied", o.values())
}

// Defaults of the Kafka client settings; they are franz-go's.
const (
	DefaultCompression            = CompressionSnappy
	DefaultDialTimeout            = 10 * time.Second
	DefaultRequestTimeoutOverhead = 10 * time.Second
	DefaultMetadataMaxAge         = 5 * time.Minute
)

// clientDefaults fills the security and client keys of kafka and the MySQL
// source's TLS section.
func (c *Config) clientDefaults() {
	has, dir := c.pos.has, ""
	if c.File != "" {
		dir = filepath.Dir(c.File)
	}
	k := &c.Kafka
	k.TLS.defaults("kafka.tls", has, dir)
	c.Source.TLS.defaults("source.tls", has, dir)
	if k.Compression == "" {
		k.Compression = DefaultCompression
	}
	if k.OnTopicDenied == "" {
		k.OnTopicDenied = TopicDeniedStop
	}
	if !has("kafka.dial_timeout") {
		k.DialTimeout = Duration(DefaultDialTimeout)
	}
	if !has("kafka.request_timeout_overhead") {
		k.RequestTimeoutOverhead = Duration(DefaultRequestTimeoutOverhead)
	}
	if !has("kafka.metadata_max_age") {
		k.MetadataMaxAge = Duration(DefaultMetadataMaxAge)
	}
}

func (c *Config) validateClient(v *checker) {
	k := &c.Kafka
	k.TLS.validate(v, "kafka.tls")
	k.SASL.validate(v)
	if k.Compression != "" && !slices.Contains(k.Compression.values(), k.Compression) {
		v.add("kafka.compression", "unknown compression %q (valid values: %s)", k.Compression, joinValues(k.Compression.values()))
	}
	// Zero in a Config built in code means the default.
	durations := []struct {
		key      string
		d        Duration
		min, max time.Duration
	}{
		{"kafka.dial_timeout", k.DialTimeout, 100 * time.Millisecond, 5 * time.Minute},
		{"kafka.request_timeout_overhead", k.RequestTimeoutOverhead, time.Second, 5 * time.Minute},
		{"kafka.metadata_max_age", k.MetadataMaxAge, 10 * time.Second, time.Hour}, // franz-go allows at most 1h
	}
	for _, d := range durations {
		if (d.d != 0 || v.has(d.key)) && (d.d < Duration(d.min) || d.d > Duration(d.max)) {
			v.add(d.key, "must be between %s and %s, got %s", Duration(d.min), Duration(d.max), d.d)
		}
	}
	if !c.Source.TLS.IsZero() || v.has("source.tls") {
		switch c.Source.Type {
		case SourceMySQL:
			c.Source.TLS.validate(v, "source.tls")
		case SourcePostgres:
			v.add("source.tls", "applies only to mysql sources; for postgres put sslmode and sslrootcert in source.dsn (e.g. ?sslmode=verify-full&sslrootcert=/etc/cdc/ca.pem)")
		}
	}
}
