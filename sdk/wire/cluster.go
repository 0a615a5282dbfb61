package wire

// Node roles.
const (
	RoleController = "controller"
	RoleBroker     = "broker"
)

// Node states as the membership layer sees them.
const (
	StateAlive  = "alive"
	StateFailed = "failed"
	StateLeft   = "left"
)

// Cluster is the answer of GET /v1/cluster.
type Cluster struct {
	ClusterID string `json:"cluster_id"`
	// Controller describes the controller quorum.
	Controller ControllerInfo `json:"controller"`
	// Brokers lists every known node (controllers too), ordered by id.
	Brokers []Broker `json:"brokers"`
	// MetadataVersion is the raft index of the metadata the answering node
	// holds.
	MetadataVersion uint64 `json:"metadata_version"`
	// NodeID is the node that answered.
	NodeID int32 `json:"node_id"`
	// Security describes the answering node's client plane.
	Security Security `json:"security"`
}

// Security is how a node protects its client listener.
type Security struct {
	// TLS: the client listener serves HTTPS and WSS.
	TLS bool `json:"tls"`
	// Auth: every /v1 request needs a credential and an ACL allowing it.
	Auth bool `json:"auth"`
	// Insecure: the node was started with --insecure (checks of the
	// start-up gate skipped).
	Insecure bool `json:"insecure,omitempty"`
}

// ControllerInfo names the active controller and the voters.
type ControllerInfo struct {
	// Leader is the node id of the active controller, -1 when there is
	// none (no quorum).
	Leader int32 `json:"leader"`
	// LeaderAddr is the active controller's HTTP base URL, when known.
	LeaderAddr string  `json:"leader_addr,omitempty"`
	Voters     []int32 `json:"voters"`
}

// Broker is one node of the cluster.
type Broker struct {
	ID    int32    `json:"id"`
	Roles []string `json:"roles"`
	// HTTPAddr is the advertised base URL of the node's API
	// ("http://host:port").
	HTTPAddr string `json:"http_addr"`
	RaftAddr string `json:"raft_addr,omitempty"`
	SerfAddr string `json:"serf_addr,omitempty"`
	Rack     string `json:"rack,omitempty"`
	// State is "alive", "failed" or "left".
	State string `json:"state"`
	// Fenced is true when the controller has fenced the broker (it leads
	// nothing until it re-registers).
	Fenced bool `json:"fenced,omitempty"`
	// Epoch is the broker epoch the controller gave its last registration.
	Epoch int64 `json:"epoch,omitempty"`
	// DirID is the id of the broker's data directory (docs/operations.md);
	// empty until the broker's first heartbeat.
	DirID string `json:"dir_id,omitempty"`
}

// Health is the answer of GET /healthz: 200 with status "ok" when the node
// serves, 503 with another status ("starting", "no_controller") otherwise.
type Health struct {
	Status string `json:"status"`
	NodeID int32  `json:"node_id"`
	// Warnings name conditions that do not stop the node yet but will
	// (file descriptors running low).
	Warnings []string `json:"warnings,omitempty"`
}
