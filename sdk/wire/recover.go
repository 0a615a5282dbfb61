package wire

import "strconv"

// RouteRecoverPartition is an operator's unclean recovery of a partition
// that has no leader (its state is PartitionOffline or PartitionDataLost):
// an alive replica, preferring one that kept its data, becomes leader and
// sole ISR member. Records only the other replicas held are lost. The
// answer is the topic's description (Topic). A partition that has a
// leader answers invalid_request.
const RouteRecoverPartition = "POST /v1/topics/{topic}/partitions/{partition}/recover"

// Partition states (Partition.State).
const (
	// PartitionOnline: the partition has a leader.
	PartitionOnline = "online"
	// PartitionOffline: no in-sync replica is alive; it comes back with one.
	PartitionOffline = "offline"
	// PartitionDataLost: every in-sync replica lost its data; the partition
	// stays offline until an operator recovers it (RouteRecoverPartition,
	// or the topic's unclean.leader.election.enable).
	PartitionDataLost = "offline_data_lost"
)

// RecoverPartitionPath is RouteRecoverPartition's path for one partition
// (topic already path-escaped).
func RecoverPartitionPath(escapedTopic string, partition int32) string {
	return "/v1/topics/" + escapedTopic + "/partitions/" + strconv.Itoa(int(partition)) + "/recover"
}
