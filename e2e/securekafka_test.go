//go:build e2e

package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// secureKafka is a private single-node Kafka (KRaft) with a SASL_SSL
// listener that accepts SCRAM-SHA-512 (and SCRAM-SHA-256 and PLAIN, same
// user and password) from clients with a certificate of the test CA
// (mutual TLS), started from the jars e2e/services.sh
// caches (CDC_KAFKA_LIBS) with a CA and broker certificate made by the test.
// Its PLAINTEXT listener is only for the broker's own inter-broker traffic.
// It is stopped and its data removed when the test binary ends.
type secureKafka struct {
	Addr string // the SASL_SSL listener, host:port
	// Plain is the PLAINTEXT listener, whose principal (ANONYMOUS) is the
	// authorizer's super user: tests set ACLs through it. The broker
	// authorizes with StandardAuthorizer and allows what no ACL names, so
	// that ACLs a test adds deny only what it names.
	Plain  string
	CAFile string // PEM of the CA that signed the broker's certificate
	// CertFile and KeyFile are a client certificate the CA signed: the
	// listener requires one (ssl.client.auth=required).
	CertFile, KeyFile string
	User              string
	Password          string
	caPool            *x509.CertPool
	cert              tls.Certificate
}

var secureKafkaOnce struct {
	sync.Mutex
	k   *secureKafka
	err error
}

// startSecureKafka returns the package's secure broker, starting it on first
// use (10-20 s); the tests of one run share it, and TestMain stops it (or,
// should the test binary die, the kernel: it is started with a parent-death
// signal). It skips the test when Java or the Kafka jars are not installed.
func startSecureKafka(t *testing.T) *secureKafka {
	t.Helper()
	libs := os.Getenv("CDC_KAFKA_LIBS")
	if _, err := exec.LookPath("java"); err != nil {
		t.Skip("java is not installed: the SASL_SSL broker needs it (e2e/services.sh up kafka installs it)")
	}
	if jars, _ := filepath.Glob(filepath.Join(libs, "kafka_2.13-*.jar")); libs == "" || len(jars) == 0 {
		t.Skipf("no Kafka jars in CDC_KAFKA_LIBS=%q: the SASL_SSL broker needs them (e2e/services.sh up kafka fetches them)", libs)
	}
	secureKafkaOnce.Lock()
	defer secureKafkaOnce.Unlock()
	if secureKafkaOnce.k == nil && secureKafkaOnce.err == nil {
		secureKafkaOnce.k, secureKafkaOnce.err = launchSecureKafka(libs)
	}
	if secureKafkaOnce.err != nil {
		t.Fatal(secureKafkaOnce.err)
	}
	return secureKafkaOnce.k
}

// stopSecureKafka ends the broker, if one was started; TestMain calls it.
var stopSecureKafka = func() {}

func launchSecureKafka(libs string) (*secureKafka, error) {
	dir, err := os.MkdirTemp("", "cdc-e2e-securekafka")
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*secureKafka, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	ca, err := newTestCA()
	if err != nil {
		return fail(fmt.Errorf("making the test CA: %w", err))
	}
	certPEM, keyPEM, err := ca.issue(false)
	if err != nil {
		return fail(err)
	}
	clientPEM, clientKeyPEM, err := ca.issue(true)
	if err != nil {
		return fail(err)
	}
	clientCert, err := tls.X509KeyPair(clientPEM, clientKeyPEM)
	if err != nil {
		return fail(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	keystore := filepath.Join(dir, "broker.pem") // key and certificate chain, Kafka's PEM keystore file
	certFile, keyFile := filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	for p, b := range map[string][]byte{caFile: ca.pem, keystore: append(keyPEM, certPEM...), certFile: clientPEM, keyFile: clientKeyPEM} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			return fail(err)
		}
	}
	password := "scram-" + randHex(12) // hex: safe in the JAAS line below
	ports, err := freePorts(3)
	if err != nil {
		return fail(err)
	}
	plain, secure, controller := ports[0], ports[1], ports[2]
	props := filepath.Join(dir, "server.properties")
	err = os.WriteFile(props, []byte(fmt.Sprintf(`process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:%[3]d
listeners=PLAINTEXT://127.0.0.1:%[1]d,SASL_SSL://127.0.0.1:%[2]d,CONTROLLER://127.0.0.1:%[3]d
advertised.listeners=PLAINTEXT://127.0.0.1:%[1]d,SASL_SSL://127.0.0.1:%[2]d,CONTROLLER://127.0.0.1:%[3]d
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_cdc="%[7]s";
ssl.keystore.type=PEM
ssl.keystore.location=%[4]s
listener.name.sasl_ssl.ssl.client.auth=required
listener.name.sasl_ssl.ssl.truststore.type=PEM
listener.name.sasl_ssl.ssl.truststore.location=%[6]s
log.dirs=%[5]s
num.network.threads=2
num.io.threads=2
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=2
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=2
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=true
super.users=User:ANONYMOUS
`, plain, secure, controller, keystore, filepath.Join(dir, "data"), caFile, password)), 0o600)
	if err != nil {
		return fail(err)
	}
	log4j := filepath.Join(dir, "log4j2.properties")
	err = os.WriteFile(log4j, []byte(`status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
`), 0o600)
	if err != nil {
		return fail(err)
	}
	id := make([]byte, 16)
	rand.Read(id)
	java := func(ctx context.Context, args ...string) *exec.Cmd {
		return exec.CommandContext(ctx, "java", append([]string{"-Xmx384m", "-Xms128m", "-XX:+UseSerialGC",
			"-Djava.awt.headless=true", "-Djava.net.preferIPv4Stack=true", "-Dlog4j2.configurationFile=" + log4j, "-cp", filepath.Join(libs, "*")}, args...)...)
	}
	fctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := java(fctx, "kafka.tools.StorageTool", "format", "--standalone",
		// "=": an id may start with "-", which would read as an option.
		"--cluster-id="+base64.RawURLEncoding.EncodeToString(id),
		"-c", props, "--add-scram", fmt.Sprintf("SCRAM-SHA-512=[name=cdc,password=%s]", password),
		"--add-scram", fmt.Sprintf("SCRAM-SHA-256=[name=cdc,password=%s]", password)).CombinedOutput()
	if err != nil {
		return fail(fmt.Errorf("formatting the secure broker: %v\n%s", err, out))
	}
	logFile := filepath.Join(dir, "broker.log")
	logOut, err := os.Create(logFile)
	if err != nil {
		return fail(err)
	}
	defer logOut.Close() // the child keeps its own descriptor
	cmd := java(context.Background(), "kafka.Kafka", props)
	cmd.Stdout, cmd.Stderr = logOut, logOut
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fail(fmt.Errorf("starting the secure broker: %w", err))
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stopSecureKafka = func() {
		cmd.Process.Kill()
		<-done
		os.RemoveAll(dir)
	}
	k := &secureKafka{Addr: fmt.Sprintf("127.0.0.1:%d", secure), Plain: fmt.Sprintf("127.0.0.1:%d", plain), CAFile: caFile, CertFile: certFile, KeyFile: keyFile,
		User: "cdc", Password: password, caPool: ca.pool, cert: clientCert}
	brokerLog := func() string { b, _ := os.ReadFile(logFile); return string(b) }
	deadline := time.Now().Add(120 * time.Second)
	for !strings.Contains(brokerLog(), "Kafka Server started") {
		select {
		case <-done:
			text := brokerLog()
			stopSecureKafka()
			return nil, fmt.Errorf("the secure broker exited during start-up:\n%s", tail(text, 4000))
		default:
		}
		if time.Now().After(deadline) {
			text := brokerLog()
			stopSecureKafka()
			return nil, fmt.Errorf("the secure broker did not start within 120s:\n%s", tail(text, 4000))
		}
		time.Sleep(250 * time.Millisecond)
	}
	// The broker is up; make sure SCRAM over TLS works before a test relies on it.
	cl, err := k.client()
	if err != nil {
		stopSecureKafka()
		return nil, err
	}
	defer cl.Close()
	pctx, pcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer pcancel()
	if err := cl.Ping(pctx); err != nil {
		stopSecureKafka()
		return nil, fmt.Errorf("logging in to the secure broker with SCRAM-SHA-512 over TLS: %w", err)
	}
	return k, nil
}

// client is a franz-go client of the SASL_SSL listener, with extra options.
func (k *secureKafka) client(extra ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(k.Addr),
		kgo.DialTLSConfig(&tls.Config{RootCAs: k.caPool, Certificates: []tls.Certificate{k.cert}}),
		kgo.SASL(scram.Auth{User: k.User, Pass: k.Password}.AsSha512Mechanism()),
	}, extra...)...)
}

// consumer is newConsumer on the secure broker.
func (k *secureKafka) consumer(t *testing.T, topicRegex string) *consumer {
	t.Helper()
	cl, err := k.client(consumerOpts(topicRegex)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &consumer{t: t, cl: cl}
}

// testCA is a certificate authority made by a test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	pem  []byte
}

func newTestCA() (*testCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cdc e2e test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// issue signs a certificate for 127.0.0.1 and localhost, for a server or a
// client, and returns the PEM chain (the certificate, then the CA) and the
// PKCS#8 key.
func (ca *testCA) issue(client bool) (chainPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if client {
		tmpl.Subject.CommonName = "cdc"
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	chainPEM = append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), ca.pem...)
	return chainPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// makeServerCerts makes a CA and a server certificate for 127.0.0.1 and
// localhost signed by it: the CA pool and PEMs of the CA, the certificate
// chain and the server's PKCS#8 key.
func makeServerCerts() (pool *x509.CertPool, caPEM, chainPEM, keyPEM []byte, err error) {
	ca, err := newTestCA()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	chainPEM, keyPEM, err = ca.issue(false)
	return ca.pool, ca.pem, chainPEM, keyPEM, err
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return fmt.Sprintf("%x", b)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
