package meta

// Heartbeat is what a broker sends the active controller every heartbeat
// interval (KRaft's BrokerHeartbeat). Heartbeats are not commands: the
// controller keeps sessions in memory and commits only what they change
// (a new directory id, a fenced broker coming back, an expired session).
type Heartbeat struct {
	Broker NodeID `json:"broker"`
	// DirID is the broker's data-directory id (see Broker.DirID).
	DirID string `json:"dir_id"`
	// BrokerEpoch is the epoch the broker last heard in a reply (0 before
	// the first): informational, the controller answers the current one.
	BrokerEpoch int64 `json:"broker_epoch"`
	// Observe: sent to a controller that is not the active one, only so
	// that it knows the broker was alive should it take over (its sessions
	// then start from what it saw, not from a blank slate). A controller
	// that does not lead answers it with an empty reply, not an error.
	Observe bool `json:"observe,omitempty"`
}

// HeartbeatReply is the controller's answer.
type HeartbeatReply struct {
	// Registered is false while the metadata does not know the broker yet
	// (serf registers it with its addresses; the next heartbeat then
	// records its directory id).
	Registered bool `json:"registered"`
	// BrokerEpoch is the broker's current epoch (Broker.Epoch).
	BrokerEpoch int64 `json:"broker_epoch"`
	// Fenced: the broker is fenced; the controller is bringing it back
	// (this heartbeat proposed it) or could not.
	Fenced bool `json:"fenced,omitempty"`
	// SessionTimeoutMs is the controller's session timeout: a broker
	// silent for longer is fenced.
	SessionTimeoutMs int64 `json:"session_timeout_ms"`
}
