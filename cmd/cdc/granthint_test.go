package main

import (
	"strings"
	"testing"

	"github.com/cdc-go/cdc/config"
	"github.com/cdc-go/cdc/sink/kafka"
)

// The hint for a denied topic names the grant that is missing: CREATE for a
// topic the broker refused to create, WRITE and DESCRIBE otherwise, with
// the SASL principal.
func TestGrantHint(t *testing.T) {
	cfg := &config.Config{}
	cfg.Kafka.SASL.Username = "cdc"
	cfg.Kafka.OnTopicDenied = config.TopicDeniedStop
	write := grantHint(cfg, &kafka.DeniedError{Topic: "shop.orders"})
	create := grantHint(cfg, &kafka.DeniedError{Topic: "shop.orders", Create: true})
	for _, want := range []string{"--allow-principal User:cdc", "--operation Write --operation Describe --topic shop.orders", "on_topic_denied: dlt"} {
		if !strings.Contains(write, want) {
			t.Errorf("write hint %q lacks %q", write, want)
		}
	}
	if strings.Contains(write, "Create") {
		t.Errorf("write hint %q asks for CREATE", write)
	}
	for _, want := range []string{"create the topic beforehand", "--operation Create --operation Write --operation Describe --topic shop.orders"} {
		if !strings.Contains(create, want) {
			t.Errorf("create hint %q lacks %q", create, want)
		}
	}
}
