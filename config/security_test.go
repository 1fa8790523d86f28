package config

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writePEMs writes a self-signed CA (ca.pem) and a certificate it signed
// with its key (cert.pem, key.pem) into dir.
func writePEMs(t *testing.T, dir string) {
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
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "cdc"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]*pem.Block{
		"ca.pem":   {Type: "CERTIFICATE", Bytes: caDER},
		"cert.pem": {Type: "CERTIFICATE", Bytes: leafDER},
		"key.pem":  {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestKafkaSecurityConfig(t *testing.T) {
	// Pins: a tls section with a CA turns TLS on, relative paths are taken
	// from the config file's directory, the CA and client certificate load,
	// SASL and client keys decode, and the defaults of the client keys.
	dir := t.TempDir()
	writePEMs(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "kafka.pw"), []byte("s3cret-kafka\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "shop.yaml")
	c, err := Parse(file, []byte(pgBase+`  tls:
    ca_file: ca.pem
    cert_file: cert.pem
    key_file: key.pem
    server_name: kafka.internal
  sasl:
    mechanism: scram-sha-512
    username: cdc
    password: ${file:kafka.pw}
  compression: zstd
  dial_timeout: 3s
  request_timeout_overhead: 20s
  metadata_max_age: 1m
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	k := c.Kafka
	wantTLS := TLS{Enabled: true, CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "cert.pem"),
		KeyFile: filepath.Join(dir, "key.pem"), ServerName: "kafka.internal"}
	if k.TLS != wantTLS {
		t.Errorf("kafka.tls = %+v, want %+v", k.TLS, wantTLS)
	}
	if want := (SASL{Mechanism: SASLScramSHA512, Username: "cdc", Password: "s3cret-kafka"}); k.SASL != want {
		t.Errorf("kafka.sasl = %+v, want %+v", k.SASL, want)
	}
	if k.Compression != CompressionZstd || k.DialTimeout != sec(3) || k.RequestTimeoutOverhead != sec(20) || k.MetadataMaxAge != sec(60) {
		t.Errorf("client keys: %s %s %s %s", k.Compression, k.DialTimeout, k.RequestTimeoutOverhead, k.MetadataMaxAge)
	}
	tc, err := k.TLS.Config()
	if err != nil {
		t.Fatal(err)
	}
	if tc.RootCAs == nil || len(tc.Certificates) != 1 || tc.ServerName != "kafka.internal" || tc.InsecureSkipVerify {
		t.Errorf("tls.Config: roots %v, %d certificates, server name %q", tc.RootCAs != nil, len(tc.Certificates), tc.ServerName)
	}

	c, err = Parse("shop.yaml", []byte(pgBase), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tc, err := c.Kafka.TLS.Config(); tc != nil || err != nil {
		t.Errorf("TLS.Config() without a tls section = %v, %v; want nil, nil", tc, err)
	}
	if k := c.Kafka; k.Compression != CompressionSnappy || k.DialTimeout != sec(10) || k.RequestTimeoutOverhead != sec(10) || k.MetadataMaxAge != sec(300) {
		t.Errorf("client defaults: %s %s %s %s", k.Compression, k.DialTimeout, k.RequestTimeoutOverhead, k.MetadataMaxAge)
	}
	c, err = Parse("shop.yaml", []byte(pgBase+"  tls:\n    enabled: true\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tc, err := c.Kafka.TLS.Config(); err != nil || tc == nil || tc.RootCAs != nil {
		t.Errorf("enabled alone: %v, %v; want the system roots", tc, err)
	}
}

func TestMySQLTLSConfig(t *testing.T) {
	dir := t.TempDir()
	writePEMs(t, dir)
	c, err := Parse(filepath.Join(dir, "shop.yaml"), []byte(strings.Replace(mysqlBase, "  server_id: 1\n",
		"  server_id: 1\n  tls:\n    ca_file: ca.pem\n", 1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (TLS{Enabled: true, CAFile: filepath.Join(dir, "ca.pem")}); c.Source.TLS != want {
		t.Errorf("source.tls = %+v, want %+v", c.Source.TLS, want)
	}
}

func TestSecurityConfigErrors(t *testing.T) {
	dir := t.TempDir()
	writePEMs(t, dir)
	ca, cert, key := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	// pgBase ends with kafka on line 6 and its brokers on line 7, so a key
	// added below starts on line 8.
	for _, tt := range []struct{ data, want string }{
		{"  tls:\n    enabled: false\n    ca_file: " + ca + "\n", "shop.yaml:9: kafka.tls.enabled: is false but the section sets other keys; set enabled: true, or remove the kafka.tls section"},
		{"  tls:\n    ca_file: /nonexistent/ca.pem\n", "shop.yaml:9: kafka.tls.ca_file: reading the CA certificates: open /nonexistent/ca.pem: no such file or directory"},
		{"  tls:\n    ca_file: " + key + "\n", "shop.yaml:9: kafka.tls.ca_file: " + key + " holds no PEM certificate"},
		{"  tls:\n    cert_file: " + cert + "\n", "shop.yaml:8: kafka.tls.key_file: is required with cert_file"},
		{"  tls:\n    key_file: " + key + "\n", "shop.yaml:8: kafka.tls.cert_file: is required with key_file"},
		{"  tls:\n    cert_file: " + cert + "\n    key_file: " + ca + "\n", "shop.yaml:9: kafka.tls.cert_file: loading the client certificate and key_file: tls:"},
		{"  tls:\n    ca_file: " + ca + "\n    insecure_skip_verify: true\n", "shop.yaml:10: kafka.tls.insecure_skip_verify: verifies nothing, so kafka.tls.ca_file would be ignored"},
		{"  tls:\n    cafile: x\n", `shop.yaml:9: unknown key "cafile" in kafka.tls (did you mean "ca_file"?`},
		{"  sasl:\n    mechanism: scram-sha512\n    username: u\n    password: p\n", `shop.yaml:9: kafka.sasl.mechanism: unknown SASL mechanism "scram-sha512" (did you mean "scram-sha-512"? valid values: plain, scram-sha-256, scram-sha-512)`},
		{"  sasl:\n    mechanism: plain\n    username: u\n", "shop.yaml:8: kafka.sasl.password is required (write it as ${VAR} or ${file:/path/to/secret})"},
		{"  sasl:\n    password: p\n", "shop.yaml:8: kafka.sasl.mechanism is required (plain, scram-sha-256 or scram-sha-512)"},
		{"  sasl:\n    mechanism: plain\n    password: p\n", "shop.yaml:8: kafka.sasl.username is required"},
		{"  sasl:\n    mechanism: plain\n    username: u\n    password: ${KAFKA_PW}\n", "shop.yaml:11: kafka.sasl.password: environment variable KAFKA_PW is not set"},
		{"  compression: lz5\n", `shop.yaml:8: kafka.compression: unknown compression "lz5" (did you mean "lz4"? valid values: none, gzip, snappy, lz4, zstd)`},
		{"  on_topic_denied: dead_letter\n", `shop.yaml:8: kafka.on_topic_denied: unknown on_topic_denied "dead_letter" (valid values: stop, dlt)`},
		{"  dial_timeout: 0s\n", "shop.yaml:8: kafka.dial_timeout: must be between 100ms and 5m0s, got 0s"},
		{"  request_timeout_overhead: 1h\n", "shop.yaml:8: kafka.request_timeout_overhead: must be between 1s and 5m0s, got 1h0m0s"},
		{"  metadata_max_age: 10ms\n", "shop.yaml:8: kafka.metadata_max_age: must be between 10s and 1h0m0s, got 10ms"},
		{"  dial_timeout: 10\n", `kafka.dial_timeout: expected a duration such as "100ms" or "10s", got "10" (add a unit`},
	} {
		_, err := Parse("shop.yaml", []byte(pgBase+tt.data), nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q:\n got %v\nwant %s", tt.data, err, tt.want)
			continue
		}
		errLines(t, err, "shop.yaml")
	}

	pgTLS := strings.Replace(pgBase, "  tables:", "  tls:\n    ca_file: "+ca+"\n  tables:", 1)
	_, err := Parse("shop.yaml", []byte(pgTLS), nil)
	if want := "shop.yaml:5: source.tls: applies only to mysql sources; for postgres put sslmode and sslrootcert in source.dsn"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("source.tls on postgres: got %v, want %s", err, want)
	}
	myTLS := strings.Replace(mysqlBase, "  server_id: 1\n", "  server_id: 1\n  tls:\n    cert_file: "+cert+"\n", 1)
	_, err = Parse("shop.yaml", []byte(myTLS), nil)
	if want := "shop.yaml:7: source.tls.key_file: is required with cert_file"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("source.tls without key_file: got %v, want %s", err, want)
	}
}

func TestRedactedSASLPassword(t *testing.T) {
	// Pins that printing or logging a config never shows the SASL
	// password, that an unset one stays unset, and that the printed config
	// reads back with the password masked.
	const secret = "kafka-s3cret"
	vars := env(map[string]string{"KAFKA_PW": secret})
	data := pgBase + "  sasl:\n    mechanism: scram-sha-256\n    username: cdc\n    password: ${KAFKA_PW}\n"
	c, err := Parse("shop.yaml", []byte(data), vars)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("starting", "config", c, "kafka", c.Kafka, "sasl", c.Kafka.SASL)
	for how, s := range map[string]string{"Redacted": c.Redacted(), "String": c.String(), "log": logged.String(),
		"%v": fmtV(c.Kafka), "SASL.String": c.Kafka.SASL.String()} {
		if strings.Contains(s, secret) {
			t.Errorf("%s shows the SASL password:\n%s", how, s)
		}
	}
	if !strings.Contains(c.Redacted(), "password: '***'") || !strings.Contains(logged.String(), `kafka_sasl="scram-sha-256 as \"cdc\""`) {
		t.Errorf("Redacted or log lacks the masked password or the mechanism:\n%s\n%s", c.Redacted(), logged.String())
	}
	back, err := Parse("shop.yaml", []byte(c.Redacted()), nil)
	if err != nil {
		t.Fatalf("parsing Redacted output: %v\n%s", err, c.Redacted())
	}
	want := stripped(c)
	want.Kafka.SASL.Password = "***"
	if !reflect.DeepEqual(stripped(back), want) {
		t.Errorf("Redacted does not read back:\n got %#v\nwant %#v", stripped(back), want)
	}
	if RedactSecret("") != "" || RedactSecret("x") != "***" {
		t.Errorf("RedactSecret: %q %q", RedactSecret(""), RedactSecret("x"))
	}
	if strings.Contains(c.Redacted(), "tls:") {
		t.Errorf("Redacted prints an absent tls section:\n%s", c.Redacted())
	}
}

func fmtV(v any) string { return fmt.Sprintf("%v %+v", v, v) }
