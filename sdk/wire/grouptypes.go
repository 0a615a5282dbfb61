package wire

// Consumer group endpoint shapes (issue 5). The groups owner extends them in
// groups.go (WebSocket messages, assignors); the HTTP shapes stay here.

// Group states.
const (
	GroupStateEmpty       = "empty"
	GroupStateRebalancing = "rebalancing"
	GroupStateStable      = "stable"
	GroupStateDead        = "dead"
)

// GroupSummary is one entry of GET /v1/groups.
type GroupSummary struct {
	Group       string `json:"group"`
	State       string `json:"state"`
	Members     int    `json:"members"`
	Assignor    string `json:"assignor"`
	Coordinator int32  `json:"coordinator"`
}

// GroupList is the answer of GET /v1/groups, sorted by group.
type GroupList struct {
	Groups []GroupSummary `json:"groups"`
}

// Group is the answer of GET /v1/groups/{group}.
type Group struct {
	Group       string        `json:"group"`
	State       string        `json:"state"`
	Generation  int32         `json:"generation"`
	Assignor    string        `json:"assignor"`
	Coordinator int32         `json:"coordinator"`
	Members     []GroupMember `json:"members"`
	// Offsets hold committed offsets and lag per topic partition, ordered by
	// topic then partition.
	Offsets []GroupOffset `json:"offsets"`
}

// GroupMember is one connected member and its assignment.
type GroupMember struct {
	ID         string            `json:"id"`
	ClientID   string            `json:"client_id,omitempty"`
	Host       string            `json:"host,omitempty"`
	Assignment []TopicPartitions `json:"assignment"`
}

// TopicPartitions names some partitions of one topic.
type TopicPartitions struct {
	Topic      string  `json:"topic"`
	Partitions []int32 `json:"partitions"`
}

// GroupOffset is the committed position of a group in one partition.
// Committed is -1 when the group has not committed there; Lag is then
// LogEnd - LogStart.
type GroupOffset struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Committed int64  `json:"committed"`
	LogEnd    int64  `json:"log_end"`
	Lag       int64  `json:"lag"`
}

// ResetOffsetsRequest is the body of POST /v1/groups/{group}/reset-offsets.
// To is "earliest", "latest", an offset ("42", applied to every partition)
// or "@<ms timestamp>". Partitions empty means all of the topic's. Refused
// with group_not_empty while the group has members.
type ResetOffsetsRequest struct {
	Topic      string  `json:"topic"`
	To         string  `json:"to,omitempty"`
	Partitions []int32 `json:"partitions,omitempty"`
	// ShiftBy, instead of To, moves each partition's committed offset by
	// this many (negative: back), clamped to the log; a partition without
	// a committed offset is refused.
	ShiftBy *int64 `json:"shift_by,omitempty"`
	// DryRun computes and answers the offsets without committing them
	// (allowed while the group has members).
	DryRun bool `json:"dry_run,omitempty"`
}

// ResetOffsetsResponse lists the offsets now committed.
type ResetOffsetsResponse struct {
	Offsets []GroupOffset `json:"offsets"`
	// DryRun: the offsets were computed, not committed.
	DryRun bool `json:"dry_run,omitempty"`
}
