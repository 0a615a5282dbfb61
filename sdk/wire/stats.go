package wire

// RouteStatsHistory answers the node's recent throughput and group lag
// (StatsHistory): what the web console charts.
const RouteStatsHistory = "GET /v1/stats/history"

// StatsSample is one point of a node's history: rates over the interval
// that ended at Time, and the consumer-group lag at Time.
type StatsSample struct {
	// Time is the end of the interval, in ms since the Unix epoch.
	Time int64 `json:"time"`
	// Records and request-body bytes of successful produce requests this
	// node answered (HTTP and WebSocket records; HTTP bytes), per second.
	ProduceRecordsPerSec float64 `json:"produce_records_per_sec"`
	ProduceBytesPerSec   float64 `json:"produce_bytes_per_sec"`
	// Records and answer bytes of fetches this node served (HTTP and
	// WebSocket records; HTTP bytes), per second.
	FetchRecordsPerSec float64 `json:"fetch_records_per_sec"`
	FetchBytesPerSec   float64 `json:"fetch_bytes_per_sec"`
	// Lag is the Σ lag (records) of every consumer group this node
	// coordinates, over the partitions where the group has committed.
	Lag int64 `json:"lag"`
	// GroupLag is the lag of the (at most 10) groups with the most lag.
	GroupLag map[string]int64 `json:"group_lag,omitempty"`
}

// StatsHistory is the answer of RouteStatsHistory.
type StatsHistory struct {
	// IntervalMs is the time between samples.
	IntervalMs int64 `json:"interval_ms"`
	// WindowMs is how far back the history reaches once full.
	WindowMs int64 `json:"window_ms"`
	// Samples, oldest first.
	Samples []StatsSample `json:"samples"`
}
