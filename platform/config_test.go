package platform

import (
	"errors"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	if c := DefaultConfig().withDefaults(); c.Validate() != nil {
		t.Fatalf("DefaultConfig is invalid: %v", c.Validate())
	}
	cases := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"negative node id", func(c *Config) { c.NodeID = -1 }, "node id"},
		{"no roles", func(c *Config) { c.Roles = nil }, "roles"},
		{"unknown role", func(c *Config) { c.Roles = []string{"broker", "janitor"} }, `role "janitor"`},
		{"no data dir", func(c *Config) { c.DataDir = "" }, "data dir"},
		{"bad http addr", func(c *Config) { c.HTTPAddr = "8080" }, "http addr"},
		{"bad raft addr on a controller", func(c *Config) { c.RaftAddr = "nope" }, "raft addr"},
		{"advertise with a port", func(c *Config) { c.AdvertiseAddr = "10.0.0.1:80" }, "advertise addr"},
		{"tiny request limit", func(c *Config) { c.MaxRequestBytes = 10 }, "max request bytes"},
		{"cluster name with a space", func(c *Config) { c.ClusterName = "my cluster" }, "cluster name"},
		{"long cluster name", func(c *Config) { c.ClusterName = strings.Repeat("c", 65) }, "cluster name"},
	}
	for _, tc := range cases {
		c := DefaultConfig()
		tc.change(&c)
		c = c.withDefaults()
		err := c.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want ErrInvalidConfig naming %q", tc.name, err, tc.want)
		}
	}
	// A broker-only node needs no raft address.
	c := DefaultConfig()
	c.Roles, c.RaftAddr = []string{RoleBroker}, ""
	if err := c.Validate(); err != nil {
		t.Errorf("broker-only without raft addr: %v", err)
	}
}
