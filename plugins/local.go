package plugins

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/sluicehq/sluice/record"
)

// LocalRun describes one run of a plugin on records read from text lines,
// with no server: the inner loop of `sluice plugin test FILE.wasm`.
type LocalRun struct {
	Wasm []byte
	Kind Kind // KindPartitioner or KindProcessor; "" detects it from the exports
	// Partitions is the partition count given to a partitioner (≥ 1).
	Partitions int
	// Partition is the partition a processor is told the records come from.
	Partition int32
	Params    map[string]string
	// Input holds one record per line (a trailing "\r" is dropped). With a
	// KeySeparator, the text before its first occurrence is the key and the
	// rest the value; a line without it has no key. With InputJSON, each
	// line is a JSON object (see LocalRecord); empty lines are skipped.
	Input        io.Reader
	KeySeparator string
	InputJSON    bool
	// Output receives one line per decision (see RunLocal).
	Output io.Writer
	// JSON writes JSON lines instead of tab-separated text.
	JSON bool
	// BatchSize is the number of records per call (default 1000).
	BatchSize int
	// Limits for the plugin; zero fields take the defaults.
	Limits Limits
	// Logger receives the plugin's stdout/stderr. Default slog.Default().
	Logger *slog.Logger
}

// LocalStats counts what a RunLocal did.
type LocalStats struct {
	Records int // input records
	Outputs int // lines written: one per record (partitioner) or per output record (processor)
	Batches int // calls into the plugin
}

// maxLine bounds one input line.
const maxLine = 16 << 20

// RunLocal validates the module, then feeds it the input in batches and
// writes what it decided. Input record i gets offset i and the current time
// as timestamp. Output, one line each:
//
//	partitioner, text:  OFFSET <TAB> PARTITION <TAB> KEY <TAB> VALUE
//	processor, text:    SOURCE_OFFSET <TAB> KEY <TAB> VALUE
//	JSON:               {"offset"|"source_offset", "partition"?, "key", "value", "headers"?}
//
// A record without a key shows an empty KEY (text) or "key": null (JSON).
// The first failing batch ends the run with its error (naming the plugin as
// "local@0").
func RunLocal(ctx context.Context, run LocalRun) (LocalStats, error) {
	var st LocalStats
	if run.Input == nil || run.Output == nil {
		return st, errors.New("plugin test: input and output are required")
	}
	if run.BatchSize <= 0 {
		run.BatchSize = 1000
	}
	h, err := NewHost(ctx, Config{Logger: run.Logger, MaxInstancesPerModule: 1})
	if err != nil {
		return st, err
	}
	defer h.Close(context.WithoutCancel(ctx))
	info, err := h.Validate(ctx, run.Wasm, run.Kind)
	if err != nil {
		return st, err
	}
	m := Module{Name: "local", Version: 0, Wasm: run.Wasm, Limits: run.Limits}
	var do func([]record.Record) (int, error)
	w := bufio.NewWriter(run.Output)
	switch info.Kind {
	case KindPartitioner:
		if run.Partitions < 1 {
			return st, fmt.Errorf("plugin test: a partitioner needs a partition count of at least 1, got %d", run.Partitions)
		}
		p, err := h.Partitioner(ctx, m, run.Params)
		if err != nil {
			return st, err
		}
		defer p.Close(ctx)
		out := make([]int32, run.BatchSize)
		do = func(recs []record.Record) (int, error) {
			if err := p.Partition(ctx, recs, run.Partitions, out[:len(recs)]); err != nil {
				return 0, err
			}
			for i := range recs {
				writeLocal(w, run.JSON, true, recs[i].Offset, out[i], &recs[i])
			}
			return len(recs), nil
		}
	default:
		pr, err := h.Processor(ctx, m, run.Params)
		if err != nil {
			return st, err
		}
		defer pr.Close(ctx)
		do = func(recs []record.Record) (int, error) {
			outs, err := pr.Process(ctx, run.Partition, recs)
			if err != nil {
				return 0, err
			}
			for i := range outs {
				writeLocal(w, run.JSON, false, outs[i].SourceOffset, run.Partition, &outs[i].Record)
			}
			return len(outs), nil
		}
	}

	sc := bufio.NewScanner(run.Input)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	batch := make([]record.Record, 0, run.BatchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := do(batch)
		if err != nil {
			return err
		}
		st.Outputs += n
		st.Batches++
		batch = batch[:0]
		return w.Flush()
	}
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := bytes.TrimSuffix(sc.Bytes(), []byte("\r"))
		r := record.Record{Offset: int64(st.Records), Timestamp: time.Now().UnixMilli()}
		switch {
		case run.InputJSON:
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			if err := parseLocalRecord(line, &r); err != nil {
				return st, fmt.Errorf("plugin test: input line %d: %w", lineNo, err)
			}
		default:
			if k, v, ok := bytes.Cut(line, []byte(run.KeySeparator)); run.KeySeparator != "" && ok {
				r.Key, r.Value = bytes.Clone(k), bytes.Clone(v)
			} else {
				r.Value = bytes.Clone(line)
			}
		}
		batch = append(batch, r)
		st.Records++
		if len(batch) == run.BatchSize {
			if err := flush(); err != nil {
				return st, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return st, fmt.Errorf("plugin test: reading records: %w", err)
	}
	return st, flush()
}

// LocalRecord is one JSON input line of RunLocal with InputJSON: every
// field is optional. A missing or null key means no key; a missing
// timestamp (ms since the epoch) means the time of reading; a missing
// offset means the record's position in the input (0, 1, ...). Headers
// keep their order; keys may repeat.
//
//	{"key":"c-1","value":"{\"total\":3}","timestamp":1764085200000,"headers":[{"key":"h","value":"v"}]}
type LocalRecord struct {
	Key       *string       `json:"key"`
	Value     string        `json:"value"`
	Timestamp *int64        `json:"timestamp"`
	Offset    *int64        `json:"offset"`
	Headers   []localHeader `json:"headers"`
}

func parseLocalRecord(line []byte, r *record.Record) error {
	var in LocalRecord
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return fmt.Errorf("want a JSON object with key, value, timestamp, offset, headers: %w", err)
	}
	if in.Key != nil {
		r.Key = []byte(*in.Key)
	}
	r.Value = []byte(in.Value)
	if in.Timestamp != nil {
		r.Timestamp = *in.Timestamp
	}
	if in.Offset != nil {
		if *in.Offset < 0 {
			return fmt.Errorf("offset %d is negative", *in.Offset)
		}
		r.Offset = *in.Offset
	}
	for _, h := range in.Headers {
		r.Headers = append(r.Headers, record.Header{Key: h.Key, Value: []byte(h.Value)})
	}
	return nil
}

type localLine struct {
	Offset       *int64        `json:"offset,omitempty"`
	SourceOffset *int64        `json:"source_offset,omitempty"`
	Partition    int32         `json:"partition"`
	Timestamp    int64         `json:"timestamp"`
	Key          *string       `json:"key"`
	Value        string        `json:"value"`
	Headers      []localHeader `json:"headers,omitempty"`
}

type localHeader struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func writeLocal(w *bufio.Writer, asJSON, partitioned bool, offset int64, partition int32, r *record.Record) {
	if !asJSON {
		if partitioned {
			fmt.Fprintf(w, "%d\t%d\t%s\t%s\n", offset, partition, r.Key, r.Value)
		} else {
			fmt.Fprintf(w, "%d\t%s\t%s\n", offset, r.Key, r.Value)
		}
		return
	}
	l := localLine{Partition: partition, Timestamp: r.Timestamp, Value: string(r.Value)}
	if partitioned {
		l.Offset = &offset
	} else {
		l.SourceOffset = &offset
	}
	if r.Key != nil {
		k := string(r.Key)
		l.Key = &k
	}
	for _, h := range r.Headers {
		l.Headers = append(l.Headers, localHeader{h.Key, string(h.Value)})
	}
	b, _ := json.Marshal(l)
	w.Write(append(b, '\n'))
}
