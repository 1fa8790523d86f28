package main

import (
	"github.com/cdc-go/cdc/config"
	"github.com/cdc-go/cdc/sink/kafka"
)

// kafkaCluster is how every Kafka client of cdc connects to cfg's cluster:
// seed brokers, TLS, SASL, timeouts and compression. Each command builds
// its clients from it (kafka.Cluster.NewClient, or Opts for franz-go's own
// clients), never from the brokers alone.
func kafkaCluster(cfg *config.Config) kafka.Cluster {
	k := &cfg.Kafka
	c := kafka.Cluster{
		Brokers:                k.Brokers,
		SASL:                   kafka.SASL{Mechanism: string(k.SASL.Mechanism), Username: k.SASL.Username, Password: k.SASL.Password},
		Compression:            string(k.Compression),
		DialTimeout:            k.DialTimeout.Std(),
		RequestTimeoutOverhead: k.RequestTimeoutOverhead.Std(),
		MetadataMaxAge:         k.MetadataMaxAge.Std(),
	}
	if k.TLS.Enabled {
		tls := k.TLS // a copy: the Cluster must not see later changes to cfg
		c.TLS = tls.Config
	}
	return c
}

// plainTextPassword is a warning when the SASL password would cross the
// network as it is (PLAIN without TLS); "" otherwise.
func plainTextPassword(cfg *config.Config) string {
	if cfg.Kafka.SASL.Mechanism == config.SASLPlain && !cfg.Kafka.TLS.Enabled {
		return "kafka.sasl.mechanism plain without kafka.tls sends the Kafka password in clear text"
	}
	return ""
}
