package broker

import (
	"context"

	"github.com/sluicehq/sluice/partitioner"
	"github.com/sluicehq/sluice/platform/meta"
)

// MetadataSource is how the broker learns cluster metadata: the local
// controller today (controller.Controller satisfies it), a watch over the
// network for broker-only nodes later. The broker acts on snapshots in
// commit order and never changes metadata itself except by proposing.
type MetadataSource interface {
	// Metadata returns the newest snapshot this source has.
	Metadata() *meta.Cluster
	// Watch blocks until a snapshot with Version > after exists and returns
	// it, or returns ctx's error.
	Watch(ctx context.Context, after uint64) (*meta.Cluster, error)
	// Propose commits a metadata change. A partition leader uses it for
	// the one change it makes itself: its ISR (meta.AlterPartition, with
	// the leader and partition epochs it holds), once followers
	// replicate; the change takes effect when it comes back through Watch.
	Propose(ctx context.Context, cmd meta.Command) (meta.Result, error)
}

// PluginResolver builds the partitioner of a topic whose spec names a Wasm
// plugin (spec.Name == meta.PartitionerWasm). The plugins package fills it;
// a broker without one fails produces to such topics with ErrPartitioner.
type PluginResolver interface {
	Partitioner(ctx context.Context, spec meta.PartitionerSpec, cluster *meta.Cluster) (partitioner.Partitioner, error)
}
