package httpapi

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/sdk/wire"
)

// PluginLogSource holds plugins' recent log lines; *plugins.Host is one.
type PluginLogSource interface {
	PluginLogs(name string, after uint64, limit int) ([]plugins.LogLine, uint64)
}

// maxLogLines is the most lines one logs answer carries.
const maxLogLines = 1000

// HandlePluginLogs registers GET /v1/plugins/{name}/logs: the plugin's
// lines kept on this node (each node keeps the lines of the calls it ran).
func (s *Server) HandlePluginLogs(src PluginLogSource) {
	s.HandleFunc(wire.RoutePluginLogs, func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		q := r.URL.Query()
		var after uint64
		if v := q.Get(wire.ParamLogsAfter); v != "" {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				s.writeError(w, r, fmt.Errorf("%s=%q: want a non-negative integer: %w", wire.ParamLogsAfter, v, errBadRequest))
				return
			}
			after = n
		}
		limit := maxLogLines
		if v := q.Get(wire.ParamLogsLimit); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				s.writeError(w, r, fmt.Errorf("%s=%q: want a positive integer: %w", wire.ParamLogsLimit, v, errBadRequest))
				return
			}
			limit = min(n, maxLogLines)
		}
		lines, dropped := src.PluginLogs(name, after, limit)
		out := wire.PluginLogs{Plugin: name, Lines: make([]wire.PluginLogLine, len(lines)), Dropped: dropped, Next: after}
		for i, l := range lines {
			out.Lines[i] = wire.PluginLogLine{Seq: l.Seq, Time: l.Time, Version: int32(l.Version), Stream: l.Stream, Text: l.Text}
			out.Next = l.Seq
		}
		writeJSON(w, http.StatusOK, out)
	})
}
