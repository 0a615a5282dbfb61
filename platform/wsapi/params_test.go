package wsapi

import (
	"errors"
	"net/url"
	"reflect"
	"testing"
	"time"
)

func TestParseConsumeParams(t *testing.T) {
	good := []struct {
		query string
		check func(p consumeParams) bool
	}{
		{"", func(p consumeParams) bool { return p.from.kind == fromLatest && p.group == "" && !p.binary }},
		{"from=earliest&format=binary", func(p consumeParams) bool { return p.from.kind == fromEarliest && p.binary }},
		{"from=@1700000000000", func(p consumeParams) bool { return p.from.kind == fromTimestamp && p.from.ts == 1700000000000 }},
		{"from=0:42,3:7", func(p consumeParams) bool {
			return p.from.kind == fromOffsets && reflect.DeepEqual(p.from.offsets, map[int32]int64{0: 42, 3: 7})
		}},
		{"partitions=2,0,2", func(p consumeParams) bool { return reflect.DeepEqual(p.partitions, []int32{2, 0}) }},
		{"group=g&assignor=range&session_timeout_ms=3000&client_id=c", func(p consumeParams) bool {
			return p.group == "g" && p.assignor == "range" && p.sessionTimeout == 3*time.Second && p.clientID == "c"
		}},
		{"processor=f@2&param.a=1&param.b=x", func(p consumeParams) bool {
			return p.processor == "f" && p.version == 2 && reflect.DeepEqual(p.procParams, map[string]string{"a": "1", "b": "x"})
		}},
		{"encoding=base64", func(p consumeParams) bool { return p.forceBase64 }},
	}
	for _, tc := range good {
		q, _ := url.ParseQuery(tc.query)
		p, err := parseConsumeParams("t", q)
		if err != nil || !tc.check(p) {
			t.Errorf("parse %q = %+v, %v", tc.query, p, err)
		}
	}
	bad := []string{
		"from=yesterday", "from=@x", "from=0:", "from=-1:3", "partitions=a", "partitions=-1",
		"group=g&partitions=1", "assignor=range", "session_timeout_ms=0", "processor=bad name",
		"processor=f@0", "param.a=1", "format=xml", "encoding=hex", "colour=red",
	}
	for _, query := range bad {
		q, _ := url.ParseQuery(query)
		if _, err := parseConsumeParams("t", q); !errors.Is(err, errBadRequest) {
			t.Errorf("parse %q: %v, want errBadRequest", query, err)
		}
	}
}
