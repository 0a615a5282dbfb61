package wsapi

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/sdk/wire"
)

// fromKind says where a consumer starts in a partition without a
// committed offset.
type fromKind int

const (
	fromLatest fromKind = iota
	fromEarliest
	fromTimestamp
	fromOffsets
)

type fromSpec struct {
	kind    fromKind
	ts      int64
	offsets map[int32]int64 // fromOffsets; partitions not named start at latest
}

// parseFrom reads "earliest", "latest", "@<ms>" or "P:O,P:O".
func parseFrom(s string) (fromSpec, error) {
	switch {
	case s == "" || s == "latest":
		return fromSpec{kind: fromLatest}, nil
	case s == "earliest":
		return fromSpec{kind: fromEarliest}, nil
	case strings.HasPrefix(s, "@"):
		ts, err := strconv.ParseInt(s[1:], 10, 64)
		if err != nil || ts < 0 {
			return fromSpec{}, fmt.Errorf("%w: from=%q: want @<timestamp in ms>", errBadRequest, s)
		}
		return fromSpec{kind: fromTimestamp, ts: ts}, nil
	}
	spec := fromSpec{kind: fromOffsets, offsets: map[int32]int64{}}
	for _, part := range strings.Split(s, ",") {
		ps, os, ok := strings.Cut(part, ":")
		p, err1 := strconv.ParseInt(ps, 10, 32)
		o, err2 := strconv.ParseInt(os, 10, 64)
		if !ok || err1 != nil || err2 != nil || p < 0 || o < 0 {
			return fromSpec{}, fmt.Errorf("%w: from=%q: want earliest, latest, @<ms> or a list PARTITION:OFFSET[,PARTITION:OFFSET]", errBadRequest, s)
		}
		spec.offsets[int32(p)] = o
	}
	return spec, nil
}

type consumeParams struct {
	topic          string
	group          string
	clientID       string
	assignor       string
	sessionTimeout time.Duration
	from           fromSpec
	partitions     []int32 // nil: all (without a group)
	processor      string
	version        int
	procParams     map[string]string
	binary         bool
	forceBase64    bool
}

func parseConsumeParams(topic string, q url.Values) (consumeParams, error) {
	p := consumeParams{topic: topic, procParams: map[string]string{}}
	known := map[string]bool{
		wire.WSParamGroup: true, wire.WSParamFrom: true, wire.WSParamPartitions: true,
		wire.WSParamAssignor: true, wire.WSParamClientID: true, wire.WSParamSessionTimeoutMs: true,
		wire.ParamProcessor: true, wire.ParamFormat: true, wire.ParamEncoding: true,
	}
	for k, vs := range q {
		if strings.HasPrefix(k, wire.ParamPrefix) && len(k) > len(wire.ParamPrefix) {
			p.procParams[strings.TrimPrefix(k, wire.ParamPrefix)] = vs[len(vs)-1]
			continue
		}
		if !known[k] {
			return p, fmt.Errorf("%w: unknown parameter %q", errBadRequest, k)
		}
	}
	p.group = q.Get(wire.WSParamGroup)
	p.clientID = q.Get(wire.WSParamClientID)
	p.assignor = q.Get(wire.WSParamAssignor)
	if p.assignor != "" && p.group == "" {
		return p, fmt.Errorf("%w: assignor needs a group", errBadRequest)
	}
	if s := q.Get(wire.WSParamSessionTimeoutMs); s != "" {
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil || ms <= 0 {
			return p, fmt.Errorf("%w: session_timeout_ms=%q", errBadRequest, s)
		}
		p.sessionTimeout = time.Duration(ms) * time.Millisecond
	}
	var err error
	if p.from, err = parseFrom(q.Get(wire.WSParamFrom)); err != nil {
		return p, err
	}
	if s := q.Get(wire.WSParamPartitions); s != "" {
		if p.group != "" {
			return p, fmt.Errorf("%w: partitions cannot be named with a group (the group assigns them)", errBadRequest)
		}
		seen := map[int32]bool{}
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
			if err != nil || n < 0 {
				return p, fmt.Errorf("%w: partitions=%q", errBadRequest, s)
			}
			if !seen[int32(n)] {
				seen[int32(n)] = true
				p.partitions = append(p.partitions, int32(n))
			}
		}
	}
	if s := q.Get(wire.ParamProcessor); s != "" {
		name, v, err := wire.ParsePluginRef(s)
		if err != nil {
			return p, fmt.Errorf("%w: processor: %w", errBadRequest, err)
		}
		p.processor, p.version = name, int(v)
	} else if len(p.procParams) > 0 {
		return p, fmt.Errorf("%w: param.* needs a processor", errBadRequest)
	}
	switch f := q.Get(wire.ParamFormat); f {
	case "", wire.FormatJSON:
	case wire.FormatBinary:
		p.binary = true
	default:
		return p, fmt.Errorf("%w: format=%q: want json or binary", errBadRequest, f)
	}
	switch e := q.Get(wire.ParamEncoding); e {
	case "", wire.EncodingText:
	case wire.EncodingBase64:
		p.forceBase64 = true
	default:
		return p, fmt.Errorf("%w: encoding=%q: want base64", errBadRequest, e)
	}
	return p, nil
}
