package httpapi

import (
	"context"
	"net/http"

	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/record"
	"github.com/sluicehq/sluice/sdk/wire"
)

// PluginTester runs an uploaded plugin version once on sample records,
// on fresh instances that are closed afterwards (no topic, no cache).
// The plugins runtime of the node fills it.
type PluginTester interface {
	// TestPartitioner returns the partition of each record among n.
	TestPartitioner(ctx context.Context, pv *meta.PluginVersion, params map[string]string, n int, recs []record.Record) ([]int32, error)
	// TestProcessor returns the records the processor emitted; each
	// one's Offset is the offset of the input it came from.
	TestProcessor(ctx context.Context, pv *meta.PluginVersion, params map[string]string, partition int32, recs []record.Record) ([]record.Record, error)
}

// HandlePluginTest registers wire.RouteTestPlugin.
func (s *Server) HandlePluginTest(t PluginTester) {
	s.HandleFunc(wire.RouteTestPlugin, func(w http.ResponseWriter, r *http.Request) {
		s.testPlugin(w, r, t)
	})
}

func (s *Server) testPlugin(w http.ResponseWriter, r *http.Request, t PluginTester) {
	name := r.PathValue("name")
	var req wire.PluginTestRequest
	if err := readJSON(w, r, s.cfg.MaxRequestBytes, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	switch n := len(req.Records); {
	case n == 0:
		s.writeError(w, r, badRequest("records: give at least one sample record"))
		return
	case n > wire.MaxPluginTestRecords:
		s.writeError(w, r, badRequest("records: %d, at most %d", n, wire.MaxPluginTestRecords))
		return
	}
	if req.Version < 0 {
		s.writeError(w, r, badRequest("version %d: want 0 (latest) or a version", req.Version))
		return
	}
	if req.Partitions == 0 {
		req.Partitions = 1
	}
	if req.Partitions < 1 || req.Partitions > meta.MaxPartitions {
		s.writeError(w, r, badRequest("partitions %d: want 1 to %d", req.Partitions, meta.MaxPartitions))
		return
	}
	if req.Partition < 0 {
		s.writeError(w, r, badRequest("partition %d: want >= 0", req.Partition))
		return
	}
	pv, err := s.cfg.Metadata().PluginVersion(name, int(req.Version))
	if err != nil {
		s.writeError(w, r, &PluginError{Plugin: name, Err: err})
		return
	}
	ref := wire.PluginRef(pv.Name, int32(pv.Version))
	recs := make([]record.Record, len(req.Records))
	for i := range req.Records {
		raw, err := req.Records[i].Decode()
		if err != nil {
			s.writeError(w, r, recordError(i, err.Error()))
			return
		}
		recs[i] = record.Record{Offset: int64(i), Timestamp: raw.Timestamp, Key: raw.Key, Value: raw.Value}
		for _, h := range raw.Headers {
			recs[i].Headers = append(recs[i].Headers, record.Header{Key: h.Key, Value: h.Value})
		}
	}
	params := make(map[string]string, len(pv.Params)+len(req.Params))
	for k, v := range pv.Params {
		params[k] = v
	}
	for k, v := range req.Params {
		params[k] = v
	}
	out := wire.PluginTestResponse{Plugin: ref, Kind: pv.Kind, Outputs: []wire.PluginTestOutput{}}
	switch pv.Kind {
	case meta.PluginKindPartitioner:
		parts, err := t.TestPartitioner(r.Context(), pv, params, int(req.Partitions), recs)
		if err != nil {
			s.writeError(w, r, &PluginError{Plugin: ref, Err: err})
			return
		}
		for i := range recs {
			o := testOutput(recs[i])
			o.Partition = wire.Ptr(parts[i])
			out.Outputs = append(out.Outputs, o)
		}
	default:
		outs, err := t.TestProcessor(r.Context(), pv, params, req.Partition, recs)
		if err != nil {
			s.writeError(w, r, &PluginError{Plugin: ref, Err: err})
			return
		}
		for _, rec := range outs {
			out.Outputs = append(out.Outputs, testOutput(rec))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func testOutput(r record.Record) wire.PluginTestOutput {
	wr := wire.Record{Offset: r.Offset, Timestamp: r.Timestamp, Key: r.Key, Value: r.Value}
	for _, h := range r.Headers {
		wr.Headers = append(wr.Headers, wire.Header{Key: h.Key, Value: h.Value})
	}
	f := wire.NewFetchRecord(wr, false)
	return wire.PluginTestOutput{Offset: f.Offset, Key: f.Key, KeyEncoding: f.KeyEncoding, Value: f.Value,
		ValueEncoding: f.ValueEncoding, Headers: f.Headers}
}
