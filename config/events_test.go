package config

import (
	"strings"
	"testing"

	"github.com/cdc-go/cdc/transform"
)

func TestEvents(t *testing.T) {
	// Debezium's defaults per source type.
	c, err := Parse("shop.yaml", []byte(pgBase+"events:\n  format: debezium\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	d := c.Events.Debezium()
	if d == nil || d.Decimal != transform.DecimalPrecise || d.Binary != transform.BinaryBytes ||
		d.TimePrecision != transform.TimeAdaptive || d.BigintUnsigned != transform.BigintLong {
		t.Errorf("postgres defaults: %+v", d)
	}
	c, err = Parse("shop.yaml", []byte(mysqlBase+"events:\n  format: debezium\n  decimal_handling_mode: string\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Events.Debezium(); d.TimePrecision != transform.TimeAdaptiveMicros || d.Decimal != transform.DecimalString {
		t.Errorf("mysql: %+v", d)
	}
	// The default format has no converter, and prints no events section.
	c, err = Parse("shop.yaml", []byte(pgBase), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Events.Debezium() != nil || strings.Contains(c.Redacted(), "\nevents:") {
		t.Errorf("cdc format: %+v\n%s", c.Events, c.Redacted())
	}
	// A printed Debezium config reads back the same.
	c, _ = Parse("shop.yaml", []byte(pgBase+"events:\n  format: debezium\n  binary_handling_mode: hex\n"), env(nil))
	back, err := Parse("shop.yaml", []byte(c.Redacted()), env(nil))
	if err != nil || back.Events != c.Events {
		t.Errorf("round trip: %v %+v, want %+v", err, back.Events, c.Events)
	}
}

func TestEventsErrors(t *testing.T) {
	for _, tt := range []struct{ data, want string }{
		{pgBase + "events:\n  format: debezum\n", `shop.yaml:9: events.format: unknown events format "debezum" (did you mean "debezium"? valid values: cdc, debezium)`},
		{pgBase + "events:\n  format: debezium\n  decimal_handling_mode: exact\n", `shop.yaml:10: events.decimal_handling_mode: unknown decimal handling mode "exact" (valid values: precise, string, double)`},
		{pgBase + "events:\n  time_precision_mode: connect\n", "shop.yaml:9: events.time_precision_mode: applies only to events.format: debezium"},
		{pgBase + "events:\n  format: cdc\n  binary_handling_mode: hex\n", "shop.yaml:10: events.binary_handling_mode: applies only to events.format: debezium"},
		{pgBase + "events:\n  formt: debezium\n", `shop.yaml:9: unknown key "formt" in events (did you mean "format"?`},
	} {
		_, err := Parse("shop.yaml", []byte(tt.data), env(nil))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q:\n got %v\nwant %s", tt.data, err, tt.want)
		}
	}
}
