package wire

import "time"

// RoutePluginLogs serves a plugin's recent log lines on the node asked
// (docs/api.md, Plugin logs).
const RoutePluginLogs = "GET /v1/plugins/{name}/logs"

// Query parameters of RoutePluginLogs.
const (
	ParamLogsAfter = "after" // only lines with seq > after (default 0: all kept)
	ParamLogsLimit = "limit" // at most this many lines (default and maximum 1000)
)

// PluginLogLine is one line a plugin wrote to stdout or stderr, or a note
// of the node about its logging (stream "host").
type PluginLogLine struct {
	// Seq numbers the plugin's kept lines on this node from 1.
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Version int32     `json:"version"`
	// Stream is "stdout", "stderr" or "host".
	Stream string `json:"stream"`
	Text   string `json:"text"`
}

// PluginLogs is the answer of RoutePluginLogs: lines oldest first.
type PluginLogs struct {
	Plugin string          `json:"plugin"`
	Lines  []PluginLogLine `json:"lines"`
	// Dropped counts the lines the node's rate limit dropped, ever.
	Dropped uint64 `json:"dropped"`
	// Next is the after value that asks for the lines following these.
	Next uint64 `json:"next"`
}
