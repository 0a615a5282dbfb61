package wire

// Cluster administration routes (docs/api.md, "Cluster administration").
const (
	// RouteElectLeaders runs a preferred-leader election (body
	// ElectLeadersRequest, answer ElectLeadersResponse).
	RouteElectLeaders = "POST /v1/partitions/elect-leaders"
	// RouteReassign starts or cancels partition reassignments (body
	// ReassignRequest, answer ReassignmentList of the partitions named).
	RouteReassign = "POST /v1/partitions/reassignments"
	// RouteListReassignments lists the reassignments in progress with
	// their progress (answer ReassignmentList).
	RouteListReassignments = "GET /v1/partitions/reassignments"
	// RouteGenerateReassignments proposes a balanced plan (body
	// GeneratePlanRequest, answer ReassignRequest); it changes nothing.
	RouteGenerateReassignments = "POST /v1/partitions/reassignments/generate"
	// RouteCreatePartitions raises a topic's partition count (body
	// CreatePartitionsRequest, answer Topic).
	RouteCreatePartitions = "POST /v1/topics/{topic}/partitions"
	// RouteClusterHealth reports partition health, brokers and the
	// controller quorum (answer ClusterHealth; always 200).
	RouteClusterHealth = "GET /v1/cluster/health"
	// RouteAddController makes an alive controller-role node a raft voter.
	RouteAddController = "POST /v1/controllers/{id}"
	// RouteRemoveController takes a dead controller out of the quorum.
	RouteRemoveController = "DELETE /v1/controllers/{id}"
	// RouteDecommissionBroker moves every replica off a broker (answer
	// ReassignmentList of the partitions moved).
	RouteDecommissionBroker = "POST /v1/brokers/{id}/decommission"
	// RouteRemoveBroker unregisters a stopped broker that holds no
	// replicas.
	RouteRemoveBroker = "DELETE /v1/brokers/{id}"
)

// ElectLeadersRequest selects the partitions of a preferred-leader
// election: every partition of every topic when Topic is empty, every
// partition of Topic when Partitions is empty.
type ElectLeadersRequest struct {
	Topic      string  `json:"topic,omitempty"`
	Partitions []int32 `json:"partitions,omitempty"`
}

// PartitionLeader is a partition with its leader and preferred leader.
type PartitionLeader struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Leader    int32  `json:"leader"`
	Preferred int32  `json:"preferred"`
	// Reason says why a partition was not moved to its preferred
	// replica ("preferred replica 3 is not in the ISR [1 2]").
	Reason string `json:"reason,omitempty"`
}

// ElectLeadersResponse lists the partitions whose leadership moved to
// their preferred replica, and those of the selection that are still not
// led by it, with the reason.
type ElectLeadersResponse struct {
	Elected    []PartitionLeader `json:"elected"`
	NotElected []PartitionLeader `json:"not_elected"`
}

// CreatePartitionsRequest is the body of RouteCreatePartitions: Count is
// the new total, never less than the current one.
type CreatePartitionsRequest struct {
	Count int32 `json:"count"`
}

// Reassignment moves one partition to a target replica set (first =
// preferred leader), or cancels its move in progress.
type Reassignment struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Replicas  []int32 `json:"replicas,omitempty"`
	Cancel    bool    `json:"cancel,omitempty"`
	// Throttle, when > 0, limits the catch-up traffic of the replicas the
	// move adds to that many bytes per second, on each broker receiving
	// them (docs/operations.md, "Throttling a move"). Without Replicas
	// and Cancel the entry changes the throttle of the partition's move in
	// progress; RemoveThrottle lifts it. A new target given with neither
	// keeps the throttle in force.
	Throttle       int64 `json:"throttle,omitempty"`
	RemoveThrottle bool  `json:"remove_throttle,omitempty"`
}

// DecommissionRequest is the optional body of RouteDecommissionBroker.
type DecommissionRequest struct {
	// Throttle, when > 0, is every move's throttle in bytes per second
	// (as Reassignment.Throttle).
	Throttle int64 `json:"throttle,omitempty"`
}

// ReassignRequest is a reassignment plan: the body of RouteReassign, the
// answer of RouteGenerateReassignments, and the format of
// `sluice partition reassign --plan FILE`.
type ReassignRequest struct {
	Reassignments []Reassignment `json:"reassignments"`
}

// GeneratePlanRequest asks for a balanced placement of Topics (every
// non-internal topic when empty) on exactly Brokers.
type GeneratePlanRequest struct {
	Topics  []string `json:"topics,omitempty"`
	Brokers []int32  `json:"brokers"`
	// ReplicationFactor, when > 0, gives every partition of the plan that
	// many replicas (otherwise each keeps its own).
	ReplicationFactor int32 `json:"replication_factor,omitempty"`
}

// ReassignmentStatus is one partition's assignment with its move in
// progress, if any.
type ReassignmentStatus struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Leader    int32   `json:"leader"`
	Replicas  []int32 `json:"replicas"`
	// Target is the replica set once the move completes.
	Target   []int32 `json:"target"`
	Adding   []int32 `json:"adding"`
	Removing []int32 `json:"removing"`
	ISR      []int32 `json:"isr"`
	// LeaderLogEnd is the leader's log end offset, -1 if unknown.
	LeaderLogEnd int64 `json:"leader_log_end"`
	// ReplicaLogEnd is each replica being added's log end offset as the
	// leader last saw it (-1: it has not fetched yet).
	ReplicaLogEnd map[int32]int64 `json:"replica_log_end,omitempty"`
	// RecordsBehind is how many offsets the slowest replica being added
	// still has to copy, -1 if unknown.
	RecordsBehind int64 `json:"records_behind"`
	// Throttle is the move's throttle in bytes per second (0: none).
	Throttle int64 `json:"throttle,omitempty"`
	// LeaderLogBytes is the size of the leader's log, -1 if unknown.
	LeaderLogBytes int64 `json:"leader_log_bytes"`
	// Copies is the progress of each replica being added.
	Copies []ReplicaCopy `json:"copies,omitempty"`
	// Progress sums up Copies: bytes left to copy over every replica
	// being added, their copy rate together, and the ETA of the slowest.
	Progress CopyProgress `json:"progress"`
}

// ReplicaCopy is the progress of one replica being added.
type ReplicaCopy struct {
	Replica int32 `json:"replica"`
	// LogBytes is the size of its log, -1 if unknown (its broker did not
	// answer, or it has not opened the replica yet).
	LogBytes int64 `json:"log_bytes"`
	// Throttled: its fetches are under the move's throttle (it is not in
	// the ISR yet).
	Throttled bool `json:"throttled,omitempty"`
	CopyProgress
}

// CopyProgress is how much of a copy is left and when it should be done.
// Bytes left is the leader's log size minus the copy's (batches are copied
// byte for byte); the rate is what the copy achieved over the last ten
// seconds or so.
type CopyProgress struct {
	// BytesLeft is the bytes still to copy, -1 if unknown.
	BytesLeft int64 `json:"bytes_left"`
	// Rate is bytes per second copied lately, -1 if unknown (the copy has
	// not run for a second yet).
	Rate float64 `json:"rate"`
	// ETASeconds is BytesLeft / Rate, 0 when nothing is left, -1 when
	// unknown (no figures, or nothing copied lately).
	ETASeconds float64 `json:"eta_seconds"`
	// Unknown counts the copies (or partitions, in a total) without
	// figures, which BytesLeft and Rate leave out.
	Unknown int `json:"unknown,omitempty"`
}

// ReassignmentList answers RouteListReassignments and RouteReassign.
type ReassignmentList struct {
	Reassignments []ReassignmentStatus `json:"reassignments"`
	// Total sums the progress of every partition listed.
	Total CopyProgress `json:"total"`
}

// ClusterHealth answers RouteClusterHealth.
type ClusterHealth struct {
	// Healthy is false when a partition is offline or under-replicated,
	// or the controller quorum is degraded.
	Healthy bool `json:"healthy"`
	// Problems lists the reasons for Healthy false, one line each.
	Problems   []string         `json:"problems"`
	Controller ControllerHealth `json:"controller"`
	Brokers    []BrokerHealth   `json:"brokers"`
	Partitions PartitionCounts  `json:"partitions"`
	// Offline, UnderReplicated and UnderMinISR name the partitions
	// ("topic/partition").
	Offline         []string `json:"offline"`
	UnderReplicated []string `json:"under_replicated"`
	UnderMinISR     []string `json:"under_min_isr"`
	// Reassigning counts partitions with a reassignment in progress.
	Reassigning     int    `json:"reassigning"`
	MetadataVersion uint64 `json:"metadata_version"`
	NodeID          int32  `json:"node_id"`
}

// PartitionCounts sums up partition health.
type PartitionCounts struct {
	Total           int `json:"total"`
	Offline         int `json:"offline"`
	UnderReplicated int `json:"under_replicated"`
	UnderMinISR     int `json:"under_min_isr"`
	// NotPreferredLeader counts partitions not led by their first replica.
	NotPreferredLeader int `json:"not_preferred_leader"`
}

// ControllerHealth describes the raft quorum.
type ControllerHealth struct {
	Leader int32 `json:"leader"`
	// QuorumOK: a leader exists and every voter is alive.
	QuorumOK bool               `json:"quorum_ok"`
	Voters   []ControllerMember `json:"voters"`
}

// ControllerMember is one member of the raft configuration with its raft
// state as it reports it (State "unreachable" when it did not answer).
type ControllerMember struct {
	ID           int32  `json:"id"`
	Address      string `json:"address"`
	Voter        bool   `json:"voter"`
	Alive        bool   `json:"alive"`
	State        string `json:"state"`
	Term         uint64 `json:"term"`
	LastIndex    uint64 `json:"last_index"`
	CommitIndex  uint64 `json:"commit_index"`
	AppliedIndex uint64 `json:"applied_index"`
}

// BrokerHealth is one registered node with its leadership counts.
type BrokerHealth struct {
	ID    int32  `json:"id"`
	Rack  string `json:"rack,omitempty"`
	State string `json:"state"`
	// Fenced: the controller fenced it (it leads nothing).
	Fenced bool `json:"fenced,omitempty"`
	// Epoch is the broker epoch of its registration.
	Epoch int64 `json:"epoch"`
	// Leading counts the partitions it leads, Preferred those whose
	// first replica it is, NotLeading those of them it does not lead.
	Leading    int `json:"leading"`
	Preferred  int `json:"preferred"`
	NotLeading int `json:"not_leading"`
	Replicas   int `json:"replicas"`
}
