package main

import (
	"io"
	"strings"
	"testing"
)

func TestInterleaveArgs(t *testing.T) {
	app := newApp(strings.NewReader(""), io.Discard, io.Discard)
	cases := []struct{ in, want string }{
		{"sluice topic create orders --partitions 3", "sluice topic create --partitions 3 -- orders"},
		{"sluice -o json topic create orders -p 3 -c a=1 -c b=2", "sluice -o json topic create -p 3 -c a=1 -c b=2 -- orders"},
		{"sluice --server http://x:1 consume t --max 5 --from earliest", "sluice --server http://x:1 consume --max 5 --from earliest -- t"},
		{"sluice produce t --verbose --acks 1", "sluice produce --verbose --acks 1 -- t"},
		{"sluice produce --key-separator=: t", "sluice produce --key-separator=: -- t"},
		{"sluice consume -- -t-", "sluice consume -- -t-"},
		{"sluice topic list", "sluice topic list"},
		{"sluice topic list -o json", "sluice -o json topic list"},
		{"sluice produce t --output json -v", "sluice --output json produce -v -- t"},
		{"sluice cluster --server=h:1 brokers", "sluice --server=h:1 cluster brokers"},
		{"sluice cluster", "sluice cluster"},
		{"sluice nosuch a --b", "sluice nosuch a --b"},
		{"sluice --help", "sluice --help"},
	}
	for _, c := range cases {
		got := strings.Join(interleaveArgs(app, strings.Fields(c.in)), " ")
		if got != c.want {
			t.Errorf("%s\n got  %s\n want %s", c.in, got, c.want)
		}
	}
}

func TestParseKV(t *testing.T) {
	m, err := parseKV("config", []string{"a=1", "b=", "c=x=y"})
	if err != nil || m["a"] != "1" || m["b"] != "" || m["c"] != "x=y" || len(m) != 3 {
		t.Errorf("parseKV = %v, %v", m, err)
	}
	for _, bad := range []string{"novalue", "=v"} {
		if _, err := parseKV("config", []string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
