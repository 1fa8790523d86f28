package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Cluster is a Kafka cluster and how cdc connects to it: the seed brokers,
// TLS, SASL, the client timeouts and the producers' compression. Every
// client cdc makes is built from one (NewClient, or Opts for the clients
// franz-go builds itself), so that all of them connect the same way. The
// zero value of an optional field means franz-go's default.
//
// A Cluster holds the SASL password: print it with String, which does not.
type Cluster struct {
	// Brokers are the seed brokers, "host:port". Required.
	Brokers []string
	// TLS, when set, encrypts every connection: it returns the TLS
	// configuration of a new client (reading the CA and certificate files
	// then, so a client made after a certificate rotation uses the new
	// files). Nil: plain TCP. An error fails the creation of the client.
	TLS func() (*tls.Config, error)
	// SASL authenticates every connection; the zero value: none.
	SASL SASL
	// Compression is the codec of produced batches: none, gzip, snappy,
	// lz4 or zstd. Default ("") snappy, franz-go's.
	Compression string
	// DialTimeout bounds opening a connection (TCP and TLS handshake);
	// default 10s.
	DialTimeout time.Duration
	// RequestTimeoutOverhead is how long a request may take beyond the
	// timeout it carries (if any) before the connection is deemed dead;
	// default 10s.
	RequestTimeoutOverhead time.Duration
	// MetadataMaxAge is how often metadata (brokers, leaders) is refreshed
	// without a reason to; default 5m.
	MetadataMaxAge time.Duration
}

// SASL is the authentication of a Cluster.
type SASL struct {
	// Mechanism is plain, scram-sha-256 or scram-sha-512; "" disables
	// SASL.
	Mechanism string
	Username  string
	Password  string
}

// String names the mechanism and the user, never the password.
func (s SASL) String() string {
	if s.Mechanism == "" {
		return "none"
	}
	return fmt.Sprintf("%s as %q", strings.ToUpper(s.Mechanism), s.Username)
}

// mechanism is franz-go's implementation of s; nil for none.
func (s SASL) mechanism() (sasl.Mechanism, error) {
	switch strings.ToLower(s.Mechanism) {
	case "":
		return nil, nil
	case "plain":
		return plain.Auth{User: s.Username, Pass: s.Password}.AsMechanism(), nil
	case "scram-sha-256":
		return scram.Auth{User: s.Username, Pass: s.Password}.AsSha256Mechanism(), nil
	case "scram-sha-512":
		return scram.Auth{User: s.Username, Pass: s.Password}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("unknown SASL mechanism %q (want plain, scram-sha-256 or scram-sha-512)", s.Mechanism)
}

func compression(name string) (kgo.CompressionCodec, error) {
	switch strings.ToLower(name) {
	case "", "snappy":
		return kgo.SnappyCompression(), nil
	case "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("unknown compression %q (want none, gzip, snappy, lz4 or zstd)", name)
}

// String is the brokers and the security of the connection, e.g.
// "k1:9093,k2:9093 (TLS, SASL SCRAM-SHA-512 as "cdc")"; never the password.
func (c Cluster) String() string {
	var sec []string
	if c.TLS != nil {
		sec = append(sec, "TLS")
	}
	if c.SASL.Mechanism != "" {
		sec = append(sec, "SASL "+c.SASL.String())
	}
	s := strings.Join(c.Brokers, ",")
	if len(sec) > 0 {
		s += " (" + strings.Join(sec, ", ") + ")"
	}
	return s
}

// Opts returns the options every client of c starts with: seed brokers,
// TLS, SASL, timeouts and compression. Options appended after them
// override them. It calls c.TLS, if set, once.
func (c Cluster) Opts() ([]kgo.Opt, error) {
	if len(c.Brokers) == 0 {
		return nil, errors.New("kafka: no seed brokers")
	}
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...)}
	if c.TLS != nil {
		tc, err := c.TLS()
		if err != nil {
			return nil, fmt.Errorf("kafka.tls: %w", err)
		}
		if tc == nil {
			return nil, errors.New("kafka.tls: no TLS configuration")
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	mech, err := c.SASL.mechanism()
	if err != nil {
		return nil, err
	}
	if mech != nil {
		opts = append(opts, kgo.SASL(mech))
	}
	codec, err := compression(c.Compression)
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.ProducerBatchCompression(codec))
	if c.DialTimeout > 0 {
		opts = append(opts, kgo.DialTimeout(c.DialTimeout))
	}
	if c.RequestTimeoutOverhead > 0 {
		opts = append(opts, kgo.RequestTimeoutOverhead(c.RequestTimeoutOverhead))
	}
	if c.MetadataMaxAge > 0 {
		opts = append(opts, kgo.MetadataMaxAge(c.MetadataMaxAge))
		// franz-go refuses a max age below the min age (default 5s).
		if c.MetadataMaxAge < 5*time.Second {
			opts = append(opts, kgo.MetadataMinAge(c.MetadataMaxAge))
		}
	}
	return opts, nil
}

// NewClient creates a client of c with Opts and then extra. It does not
// connect: the first request does.
func (c Cluster) NewClient(extra ...kgo.Opt) (*kgo.Client, error) {
	opts, err := c.Opts()
	if err != nil {
		return nil, fmt.Errorf("creating kafka client: %w", err)
	}
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("creating kafka client: %w", err)
	}
	return cl, nil
}

// ErrAuthentication reports that the brokers refused cdc's SASL
// credentials or mechanism. Retrying does not help; the fix is in
// kafka.sasl.
var ErrAuthentication = errors.New("kafka authentication failed")

// connectError describes err, from the first request of a client of c: a
// refused SASL authentication (ErrAuthentication, naming the mechanism and
// the user), a server certificate TLS cannot verify, or else no broker
// answering (ErrUnreachable).
func (c Cluster) connectError(err error) error {
	brokers := strings.Join(c.Brokers, ",")
	switch {
	case errors.Is(err, kerr.SaslAuthenticationFailed), errors.Is(err, kerr.UnsupportedSaslMechanism), errors.Is(err, kerr.IllegalSaslState):
		return fmt.Errorf("authenticating to kafka brokers %s with SASL %s: %w: %w (check kafka.sasl.mechanism, username and password)",
			brokers, c.SASL, ErrAuthentication, err)
	case isTLSVerifyError(err):
		return fmt.Errorf("connecting to kafka brokers %s over TLS: %w: %w (check kafka.tls.ca_file and kafka.tls.server_name)", brokers, ErrUnreachable, err)
	case isTLSAlert(err):
		return fmt.Errorf("connecting to kafka brokers %s over TLS: %w: the broker refused the TLS handshake: %w (does the listener require a client certificate? set kafka.tls.cert_file and key_file)", brokers, ErrUnreachable, err)
	}
	return fmt.Errorf("connecting to kafka brokers %s: %w: %w", brokers, ErrUnreachable, err)
}

func isTLSVerifyError(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid)
}

// isTLSAlert reports whether the server ended the TLS handshake with an
// alert, as a broker requiring a client certificate does.
func isTLSAlert(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error"
}
