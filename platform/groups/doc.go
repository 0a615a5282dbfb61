// Package groups is Sluice's consumer group coordinator: it keeps the members
// of each group, assigns the partitions of their topic among them with a
// server-side assignor (range, roundrobin or sticky), rebalances when members
// join, leave or miss their session timeout, fences commits from members that
// no longer own a partition, and stores committed offsets durably in the
// internal topic __consumer_offsets, replicated like any topic (RF min(3,
// brokers), min.insync.replicas 2, commits with acks=all). A group's
// coordinator is the leader of its offsets partition, so it moves with that
// leadership; a new leader serves the group only once its whole log is
// committed, so committed offsets never go backwards.
//
// The package has three layers, each usable and tested on its own:
//
//   - Assignors (Range, RoundRobin, Sticky): pure functions from members,
//     partition count and previous ownership to a new assignment.
//   - Group: the state machine of one group as a plain value. Every method
//     takes the current time and returns the notices to deliver to members;
//     it starts no goroutines and reads no clock.
//   - Coordinator: the owner of all groups on this broker. It guards the
//     Group values with a lock, drives session and revocation timeouts from
//     an injectable Clock, delivers notices to Membership handles and reads
//     and writes committed offsets through the OffsetLog seam.
//
// # Revoke, then assign
//
// A partition is never served to two members of a group at once. When a
// rebalance moves a partition, its owner is first told it is revoked; the
// partition is granted to its new owner only after the old owner acknowledges
// the revocation (having committed what it processed), leaves, or fails to
// acknowledge within the rebalance timeout. A member that still holds a
// partition whose revocation it has not acknowledged may commit offsets for
// it; once the partition is released, its commits are refused.
package groups
