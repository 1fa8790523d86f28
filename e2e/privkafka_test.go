//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kafkaCluster is a throwaway Apache Kafka (KRaft, every node broker and
// controller) of one or three nodes, for the tests that restart or lose
// brokers: the shared broker of e2e/services.sh serves the other tests at
// the same time. It runs the jars services.sh resolved (CDC_KAFKA_LIBS).
// With three nodes, internal and new topics have replication factor 3 and
// min.insync.replicas 2.
type kafkaCluster struct {
	t     *testing.T
	libs  string
	nodes []*kafkaNode
	adm   *kadm.Client
}

type kafkaNode struct {
	id         int
	port, ctl  int
	dir, props string
	mu         sync.Mutex
	cmd        *exec.Cmd
	exited     chan struct{}
	out        *os.File
}

func privateKafka(t *testing.T, n int) *kafkaCluster {
	t.Helper()
	libs := os.Getenv("CDC_KAFKA_LIBS")
	if libs == "" {
		t.Fatal("CDC_KAFKA_LIBS is not set; run: eval \"$(e2e/services.sh env)\"")
	}
	k := &kafkaCluster{t: t, libs: libs}
	dir := privateDir(t, "cdc-e2e-kafka")
	var voters []string
	for i := 1; i <= n; i++ {
		node := &kafkaNode{id: i, port: freePort(t), ctl: freePort(t), dir: filepath.Join(dir, fmt.Sprint(i))}
		node.props = filepath.Join(node.dir, "server.properties")
		voters = append(voters, fmt.Sprintf("%d@127.0.0.1:%d", i, node.ctl))
		k.nodes = append(k.nodes, node)
	}
	rf, isr := min(n, 3), 1
	if n >= 3 {
		isr = 2
	}
	var id [16]byte
	rand.Read(id[:])
	cluster := base64.RawURLEncoding.EncodeToString(id[:])
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, node := range k.nodes {
		if err := os.MkdirAll(node.dir, 0o755); err != nil {
			t.Fatal(err)
		}
		props := fmt.Sprintf(`process.roles=broker,controller
node.id=%[1]d
controller.quorum.voters=%[2]s
listeners=PLAINTEXT://127.0.0.1:%[3]d,CONTROLLER://127.0.0.1:%[4]d
advertised.listeners=PLAINTEXT://127.0.0.1:%[3]d
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=%[5]s
num.network.threads=2
num.io.threads=2
num.partitions=1
default.replication.factor=%[6]d
min.insync.replicas=%[7]d
auto.create.topics.enable=false
offsets.topic.replication.factor=%[6]d
offsets.topic.num.partitions=2
transaction.state.log.replication.factor=%[6]d
transaction.state.log.min.isr=%[7]d
transaction.state.log.num.partitions=2
share.coordinator.state.topic.replication.factor=%[6]d
share.coordinator.state.topic.min.isr=%[7]d
group.initial.rebalance.delay.ms=0
unclean.leader.election.enable=false
`, node.id, strings.Join(voters, ","), node.port, node.ctl, filepath.Join(node.dir, "data"), rf, isr)
		if err := os.WriteFile(node.props, []byte(props), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(node.dir, "log4j2.properties"), []byte(kafkaLog4j), 0o644); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := exec.Command("java", "-Xmx256m", "-cp", libs+"/*", "kafka.tools.StorageTool",
				"format", "-t", cluster, "-c", node.props).CombinedOutput()
			if err != nil {
				errs <- fmt.Errorf("formatting node %d: %v\n%s", node.id, err, out)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, node := range k.nodes {
			k.kill(node.id)
		}
	})
	for _, node := range k.nodes {
		k.start(t, node.id)
	}
	k.waitBrokers(t, n, 120*time.Second)
	return k
}

// kafkaLog4j logs a node's INFO lines to its stdout.log (the test prints
// their tail when the cluster does not come up).
const kafkaLog4j = `status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
`

// brokers is the cluster's seed list, comma-separated.
func (k *kafkaCluster) brokers() string {
	var bs []string
	for _, node := range k.nodes {
		bs = append(bs, fmt.Sprintf("127.0.0.1:%d", node.port))
	}
	return strings.Join(bs, ",")
}

func (k *kafkaCluster) node(id int) *kafkaNode { return k.nodes[id-1] }

// start starts node id (again).
func (k *kafkaCluster) start(t *testing.T, id int) {
	t.Helper()
	node := k.node(id)
	node.mu.Lock()
	defer node.mu.Unlock()
	out, err := os.OpenFile(filepath.Join(node.dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("java", "-Xmx384m", "-Xms128m", "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError",
		"-Djava.awt.headless=true", "-Djava.net.preferIPv4Stack=true", "-Dkafka.logs.dir="+node.dir,
		"-Dlog4j2.configurationFile="+filepath.Join(node.dir, "log4j2.properties"),
		"-cp", k.libs+"/*", "kafka.Kafka", node.props)
	fmt.Fprintf(out, "=== %s: the test starts node %d\n", time.Now().Format(time.TimeOnly), id)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	node.cmd, node.out, node.exited = cmd, out, make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) {
		c.Wait()
		close(done)
	}(cmd, node.exited)
}

// stop stops node id cleanly (SIGTERM: it hands its leaderships over).
func (k *kafkaCluster) stop(id int) { k.signal(id, syscall.SIGTERM, 60*time.Second) }

// kill kills node id (SIGKILL).
func (k *kafkaCluster) kill(id int) { k.signal(id, syscall.SIGKILL, 30*time.Second) }

func (k *kafkaCluster) signal(id int, sig syscall.Signal, wait time.Duration) {
	node := k.node(id)
	node.mu.Lock()
	defer node.mu.Unlock()
	if node.cmd == nil {
		return
	}
	node.cmd.Process.Signal(sig)
	select {
	case <-node.exited:
	case <-time.After(wait):
		node.cmd.Process.Kill()
		<-node.exited
	}
	node.out.Close()
	node.cmd = nil
}

// admin returns the admin client of the cluster.
func (k *kafkaCluster) admin() *kadm.Client {
	k.t.Helper()
	if k.adm != nil {
		return k.adm
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(k.brokers(), ",")...))
	if err != nil {
		k.t.Fatal(err)
	}
	k.t.Cleanup(cl.Close)
	k.adm = kadm.NewClient(cl)
	return k.adm
}

// waitBrokers waits until the cluster has healed with n brokers: each
// node, asked on its own, lists n brokers and every partition with all its
// replicas in sync. (One node's answer is not enough: a node just started
// answers from the metadata it had when it stopped.)
func (k *kafkaCluster) waitBrokers(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		why := k.healed(n)
		if why == "" {
			t.Logf("private kafka: healed with %d brokers in %v", n, time.Since(start).Round(100*time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			var says []string
			for _, node := range k.nodes {
				says = append(says, fmt.Sprintf("node %d says:\n%s", node.id, k.output(node.id)))
			}
			t.Fatalf("private kafka: not healed with %d brokers after %v: %s\n%s", n, timeout, why, strings.Join(says, "\n"))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// healed returns why the cluster has not healed with n brokers, or "".
func (k *kafkaCluster) healed(n int) string {
	for _, node := range k.nodes {
		cl, err := kgo.NewClient(kgo.SeedBrokers(fmt.Sprintf("127.0.0.1:%d", node.port)))
		if err != nil {
			return err.Error()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
		cancel()
		cl.Close()
		if err != nil {
			return fmt.Sprintf("node %d: %v", node.id, err)
		}
		if len(resp.Brokers) < n {
			return fmt.Sprintf("node %d lists %d brokers", node.id, len(resp.Brokers))
		}
		for _, tp := range resp.Topics {
			for _, p := range tp.Partitions {
				if len(p.ISR) < len(p.Replicas) {
					return fmt.Sprintf("node %d: partition %d of %s has replicas %v, in sync %v", node.id, p.Partition, *tp.Topic, p.Replicas, p.ISR)
				}
			}
		}
	}
	return ""
}

// leader returns the node leading partition p of topic.
func (k *kafkaCluster) leader(t *testing.T, topic string, p int32) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := k.admin().Metadata(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	pd, ok := m.Topics[topic].Partitions[p]
	if !ok {
		t.Fatalf("private kafka: no partition %d of %s", p, topic)
	}
	return int(pd.Leader)
}

// output is the last lines of node id's log, less the produce errors a
// broker logs for every retried batch.
func (k *kafkaCluster) output(id int) string {
	b, _ := os.ReadFile(filepath.Join(k.node(id).dir, "stdout.log"))
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "Error processing append operation") || strings.HasPrefix(l, "org.apache.kafka.common.errors.") {
			continue
		}
		keep = append(keep, l)
	}
	if len(keep) > 25 {
		keep = keep[len(keep)-25:]
	}
	return strings.Join(keep, "\n")
}
