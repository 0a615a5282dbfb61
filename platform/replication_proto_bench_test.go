package platform_test

import (
	"github.com/sluicehq/sluice/platform"
	"github.com/sluicehq/sluice/platform/testnode"
)

// benchProtocols are the follower fetch protocols the replicated-append
// benchmarks compare (docs/benchmarks.md).
var benchProtocols = []struct {
	name string
	opt  testnode.Option
}{
	{"stream", testnode.WithConfig(func(c *platform.Config) { c.ReplicationProtocol = platform.ReplicationStream })},
	{"request", testnode.WithConfig(func(c *platform.Config) { c.ReplicationProtocol = platform.ReplicationRequest })},
}
