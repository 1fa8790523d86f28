package kafka

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
)

// testCA returns a CA pool and a server certificate it signed for
// 127.0.0.1 and localhost.
func testCA(t *testing.T) (*x509.CertPool, tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "broker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return pool, tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: key}
}

func TestClusterTLSAndSASL(t *testing.T) {
	// Pins that every client built from a Cluster speaks TLS and SASL, that
	// a wrong password is ErrAuthentication naming the mechanism and the
	// user (and not the password), and that an unknown CA is a TLS error.
	pool, cert := testCA(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-512", "cdc", "right-pw"),
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	good := Cluster{
		Brokers: c.ListenAddrs(),
		TLS:     tlsWith(pool),
		SASL:    SASL{Mechanism: "scram-sha-512", Username: "cdc", Password: "right-pw"},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := Ping(ctx, good); err != nil {
		t.Fatalf("Ping with the right settings: %v", err)
	}
	if _, err := PeekCheckpoint(ctx, good, "_cdc_checkpoints", "shop"); err != nil {
		t.Errorf("PeekCheckpoint: %v", err)
	}

	// kfake drops the connection on a wrong password; a real broker answers
	// SASL_AUTHENTICATION_FAILED first (e2e/security_test.go), which is
	// what connectError is given here.
	wrong := good
	wrong.SASL.Password = "wrong-pw"
	err = wrong.connectError(fmt.Errorf("%w: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512", kerr.SaslAuthenticationFailed))
	if !errors.Is(err, ErrAuthentication) || Retriable(err) {
		t.Fatalf("Ping with a wrong password: %v (retriable %v); want ErrAuthentication, not retriable", err, Retriable(err))
	}
	for _, want := range []string{"SCRAM-SHA-512", `"cdc"`, "kafka.sasl"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "wrong-pw") || strings.Contains(wrong.String(), "wrong-pw") {
		t.Errorf("the password shows: %v / %s", err, wrong)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}

	otherPool, _ := testCA(t)
	untrusted := good
	untrusted.TLS = tlsWith(otherPool)
	sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
	defer scancel()
	if err := Ping(sctx, untrusted); err == nil || !strings.Contains(err.Error(), "kafka.tls.ca_file") {
		t.Errorf("Ping trusting another CA: %v; want a TLS verification error naming kafka.tls.ca_file", err)
	}
}

func tlsWith(pool *x509.CertPool) func() (*tls.Config, error) {
	return func() (*tls.Config, error) { return &tls.Config{RootCAs: pool}, nil }
}

func TestClusterOpts(t *testing.T) {
	for _, c := range []Cluster{
		{},
		{Brokers: []string{"k:9092"}, TLS: func() (*tls.Config, error) { return nil, errors.New("no CA") }},
		{Brokers: []string{"k:9092"}, Compression: "brotli"},
		{Brokers: []string{"k:9092"}, SASL: SASL{Mechanism: "gssapi"}},
	} {
		if _, err := c.Opts(); err == nil {
			t.Errorf("Opts(%+v) succeeded", c)
		}
	}
	for _, comp := range []string{"", "none", "gzip", "snappy", "lz4", "zstd"} {
		c := Cluster{Brokers: []string{"k:9092"}, Compression: comp, MetadataMaxAge: time.Second,
			DialTimeout: time.Second, RequestTimeoutOverhead: time.Second}
		cl, err := c.NewClient()
		if err != nil {
			t.Errorf("compression %q: %v", comp, err)
			continue
		}
		cl.Close()
	}
	s := Cluster{Brokers: []string{"a:1", "b:2"}, TLS: tlsWith(nil), SASL: SASL{Mechanism: "plain", Username: "u", Password: "pw"}}.String()
	if s != `a:1,b:2 (TLS, SASL PLAIN as "u")` {
		t.Errorf("String() = %q", s)
	}
}
