package main

import (
	"github.com/cdc-go/cdc/config"
	"github.com/cdc-go/cdc/pipeline"
	"github.com/cdc-go/cdc/transform"
)

// buildRouter turns the configuration into the router the pipeline uses,
// and the table router that encodes rejected changes for the dead-letter
// topic.
func buildRouter(cfg *config.Config, connector string) (pipeline.Router, *transform.Tables, error) {
	tables := &transform.Tables{
		Envelope:   transform.Envelope{Connector: connector, Name: cfg.Name, Version: version},
		Prefix:     cfg.Kafka.TopicPrefix,
		Tombstones: true,
	}
	return tables, tables, nil
}
