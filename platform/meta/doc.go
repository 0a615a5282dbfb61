// Package meta holds Sluice's cluster metadata as plain values and the pure
// state machine that changes it.
//
// A *Cluster is an immutable snapshot: brokers, topics (configuration,
// partitioner, partition assignment with leader, leader epoch, ISR and
// partition epoch) and the plugin registry. Changes are Commands; Apply turns
// (cluster, command) into a new cluster, copying only what changed, and never
// touches the cluster it was given. Apply does no I/O, starts no goroutines and
// reads no clock (the caller passes the time), so every replica of the
// controller's raft log computes the same state and every rule is a fast,
// deterministic unit test, in the manner of go.etcd.io/raft.
//
// Readers share *Cluster values freely between goroutines. They must not
// modify anything reachable from one; Clone helpers exist for callers that
// need a mutable copy.
package meta
