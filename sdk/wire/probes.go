package wire

// Probe routes (docs/operations.md, "Health probes").
const (
	// RouteLive answers 200 while the process serves HTTP.
	RouteLive = "GET /livez"
	// RouteReady answers 200 when the node can serve what it owns, else
	// 503 with the reasons.
	RouteReady = "GET /readyz"
)

// Readiness is the answer of /readyz (and, with status "alive", of
// /livez).
type Readiness struct {
	// Status is "ready", "not_ready" or (for /livez) "alive".
	Status string `json:"status"`
	NodeID int32  `json:"node_id"`
	// Reasons say why the node is not ready; empty when it is.
	Reasons []string `json:"reasons,omitempty"`
	// Warnings name conditions that do not stop the node from serving
	// what it owns (no controller quorum, say).
	Warnings []string `json:"warnings,omitempty"`
}

// Readiness statuses.
const (
	ReadyStatus    = "ready"
	NotReadyStatus = "not_ready"
	AliveStatus    = "alive"
)
