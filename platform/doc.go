// Package platform is a Sluice node: it wires membership (serf), the
// controller (raft metadata quorum), the broker (partition replicas) and
// the HTTP API into one process, as the node's roles say, and shuts them
// down in order. Start a node with Start(ctx, cfg); DefaultConfig is a
// complete one-node cluster on loopback.
package platform
