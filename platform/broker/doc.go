// Package broker is a node's replica manager: it opens the partition logs
// the controller's assignment gives this node, leads them (leader epoch,
// log end offset per replica, high watermark = min LEO over the ISR),
// serves produce (the topic's partitioner over the whole batch, one
// append per partition, acks 0/1/all) and fetch (committed records only,
// long-polled until the high watermark moves).
//
// It learns metadata only through a MetadataSource, in commit order, so
// a broker on another node can use the same seam over the network. The
// replication rules are plain values (Replication, TruncationOffset) with
// their own tests; storage, metadata and partitioners are reached through
// small interfaces that tests can replace with failing ones.
package broker
