package meta

import (
	"errors"
	"testing"
)

func TestParseTopicConfig(t *testing.T) {
	def := DefaultTopicConfig()
	tests := []struct {
		name string
		kv   map[string]string
		want func(*TopicConfig)
		err  bool
	}{
		{name: "no overrides", kv: nil, want: func(*TopicConfig) {}},
		{name: "retention", kv: map[string]string{"retention.ms": "1000", "retention.bytes": "-1"}, want: func(c *TopicConfig) { c.RetentionMs = 1000 }},
		{name: "infinite retention", kv: map[string]string{"retention.ms": "-1"}, want: func(c *TopicConfig) { c.RetentionMs = -1 }},
		{name: "durability", kv: map[string]string{"durability": "replicated"}, want: func(c *TopicConfig) { c.Durability = DurabilityReplicated }},
		{name: "max message", kv: map[string]string{"max.message.bytes": "2048"}, want: func(c *TopicConfig) { c.MaxMessageBytes = 2048 }},
		{name: "min isr", kv: map[string]string{"min.insync.replicas": "2"}, want: func(c *TopicConfig) { c.MinInsyncReplicas = 2 }},
		{name: "unclean", kv: map[string]string{"unclean.leader.election.enable": "true"}, want: func(c *TopicConfig) { c.UncleanLeaderElection = true }},
		{name: "unknown key", kv: map[string]string{"segment.ms": "1"}, err: true},
		{name: "bad durability", kv: map[string]string{"durability": "never"}, err: true},
		{name: "negative retention", kv: map[string]string{"retention.ms": "-2"}, err: true},
		{name: "not a number", kv: map[string]string{"retention.bytes": "ten"}, err: true},
		{name: "zero max message", kv: map[string]string{"max.message.bytes": "0"}, err: true},
		{name: "zero min isr", kv: map[string]string{"min.insync.replicas": "0"}, err: true},
		{name: "bad bool", kv: map[string]string{"unclean.leader.election.enable": "maybe"}, err: true},
		{name: "one bad key fails all", kv: map[string]string{"retention.ms": "5", "bogus": "1"}, err: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTopicConfig(def, tc.kv)
			if tc.err {
				if !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("err = %v, want ErrInvalidConfig", err)
				}
				if got != def {
					t.Fatalf("failed parse returned %+v, want base", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := def
			tc.want(&want)
			if got != want {
				t.Fatalf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestTopicConfigToMapRoundTrip(t *testing.T) {
	c := TopicConfig{RetentionMs: 5, RetentionBytes: 1 << 30, Durability: DurabilityReplicated,
		MaxMessageBytes: 100, MinInsyncReplicas: 2, UncleanLeaderElection: true}
	m := c.ToMap()
	if len(m) != len(TopicConfigKeys()) {
		t.Fatalf("ToMap has %d keys, want %d", len(m), len(TopicConfigKeys()))
	}
	got, err := ParseTopicConfig(DefaultTopicConfig(), m)
	if err != nil {
		t.Fatal(err)
	}
	if got != c {
		t.Fatalf("round trip: got %+v, want %+v", got, c)
	}
}

func TestDefaultTopicConfig(t *testing.T) {
	c := DefaultTopicConfig()
	if c.RetentionMs != 7*24*3600*1000 || c.RetentionBytes != -1 || c.Durability != "fsync" ||
		c.MaxMessageBytes != 1<<20 || c.MinInsyncReplicas != 1 || c.UncleanLeaderElection {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestParsePartitionerSpec(t *testing.T) {
	tests := []struct {
		in   string
		want PartitionerSpec
		str  string
		err  bool
	}{
		{in: "", want: PartitionerSpec{Name: "auto"}, str: "auto"},
		{in: "auto", want: PartitionerSpec{Name: "auto"}, str: "auto"},
		{in: "hash", want: PartitionerSpec{Name: "hash"}, str: "hash"},
		{in: "roundrobin", want: PartitionerSpec{Name: "roundrobin"}, str: "roundrobin"},
		{in: "wasm:geo", want: PartitionerSpec{Name: "wasm", Plugin: "geo"}, str: "wasm:geo"},
		{in: "wasm:geo@3", want: PartitionerSpec{Name: "wasm", Plugin: "geo", Version: 3}, str: "wasm:geo@3"},
		{in: "wasm:", err: true},
		{in: "wasm:geo@0", err: true},
		{in: "wasm:geo@x", err: true},
		{in: "wasm:bad/name", err: true},
		{in: "murmur", err: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePartitionerSpec(tc.in)
			if tc.err {
				if !errors.Is(err, ErrInvalidRequest) {
					t.Fatalf("err = %v, want ErrInvalidRequest", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tc.want.Name || got.Plugin != tc.want.Plugin || got.Version != tc.want.Version {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if got.String() != tc.str {
				t.Fatalf("String() = %q, want %q", got.String(), tc.str)
			}
		})
	}
}
