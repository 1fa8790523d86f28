package config

import (
	"gopkg.in/yaml.v3"

	"github.com/cdc-go/cdc/transform"
)

// Events chooses how column values are written in events. The default
// format, cdc, is readable and lossless (docs/types.md); debezium writes
// Debezium's own encodings (docs/debezium-mode.md), for consumers built
// for Debezium such as its JDBC sink. The handling modes are Debezium's
// options of the same names and apply only to format debezium.
type Events struct {
	Format EventFormat `yaml:"format,omitempty"` // "" is cdc
	// DecimalHandlingMode: precise (Connect Decimal, the default), string
	// or double.
	DecimalHandlingMode DecimalMode `yaml:"decimal_handling_mode,omitempty"`
	// BinaryHandlingMode: bytes (the default), base64, base64-url-safe or hex.
	BinaryHandlingMode BinaryMode `yaml:"binary_handling_mode,omitempty"`
	// TimePrecisionMode: adaptive (Postgres's default),
	// adaptive_time_microseconds (MySQL's default) or connect.
	TimePrecisionMode TimePrecisionMode `yaml:"time_precision_mode,omitempty"`
	// BigintUnsignedHandlingMode: long (the default; a value above
	// 2^63-1 goes to the dead-letter topic) or precise (a Decimal).
	BigintUnsignedHandlingMode BigintUnsignedMode `yaml:"bigint_unsigned_handling_mode,omitempty"`
}

// EventFormat is events.format.
type EventFormat string

// Event formats.
const (
	FormatCDC      EventFormat = "cdc"
	FormatDebezium EventFormat = "debezium"
)

func (EventFormat) values() []EventFormat { return []EventFormat{FormatCDC, FormatDebezium} }

// UnmarshalYAML accepts only the known formats.
func (f *EventFormat) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalEnum(n, f, "events format", f.values())
}

// DecimalMode is events.decimal_handling_mode.
type DecimalMode string

// UnmarshalYAML accepts only Debezium's decimal modes.
func (m *DecimalMode) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalEnum(n, m, "decimal handling mode", []DecimalMode{"precise", "string", "double"})
}

// BinaryMode is events.binary_handling_mode.
type BinaryMode string

// UnmarshalYAML accepts only Debezium's binary modes.
func (m *BinaryMode) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalEnum(n, m, "binary handling mode", []BinaryMode{"bytes", "base64", "base64-url-safe", "hex"})
}

// TimePrecisionMode is events.time_precision_mode.
type TimePrecisionMode string

// UnmarshalYAML accepts only Debezium's time precision modes.
func (m *TimePrecisionMode) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalEnum(n, m, "time precision mode", []TimePrecisionMode{"adaptive", "adaptive_time_microseconds", "connect"})
}

// BigintUnsignedMode is events.bigint_unsigned_handling_mode.
type BigintUnsignedMode string

// UnmarshalYAML accepts only Debezium's modes.
func (m *BigintUnsignedMode) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalEnum(n, m, "bigint unsigned handling mode", []BigintUnsignedMode{"long", "precise"})
}

func (e *Events) defaults(src SourceType) {
	if e.Format != FormatDebezium {
		return
	}
	if e.DecimalHandlingMode == "" {
		e.DecimalHandlingMode = "precise"
	}
	if e.BinaryHandlingMode == "" {
		e.BinaryHandlingMode = "bytes"
	}
	if e.TimePrecisionMode == "" {
		e.TimePrecisionMode = "adaptive"
		if src == SourceMySQL {
			e.TimePrecisionMode = "adaptive_time_microseconds"
		}
	}
	if e.BigintUnsignedHandlingMode == "" {
		e.BigintUnsignedHandlingMode = "long"
	}
}

func (e *Events) validate(v *checker) {
	if e.Format == FormatDebezium {
		return
	}
	for key, set := range map[string]bool{
		"events.decimal_handling_mode":         e.DecimalHandlingMode != "",
		"events.binary_handling_mode":          e.BinaryHandlingMode != "",
		"events.time_precision_mode":           e.TimePrecisionMode != "",
		"events.bigint_unsigned_handling_mode": e.BigintUnsignedHandlingMode != "",
	} {
		if set {
			v.add(key, "applies only to events.format: debezium (set it, or remove this key)")
		}
	}
}

// Debezium is the value converter for events.format: debezium, or nil for
// cdc's own format.
func (e *Events) Debezium() *transform.Debezium {
	if e.Format != FormatDebezium {
		return nil
	}
	return &transform.Debezium{
		Decimal:        transform.DecimalMode(e.DecimalHandlingMode),
		Binary:         transform.BinaryMode(e.BinaryHandlingMode),
		TimePrecision:  transform.TimePrecisionMode(e.TimePrecisionMode),
		BigintUnsigned: transform.BigintUnsignedMode(e.BigintUnsignedHandlingMode),
	}
}
