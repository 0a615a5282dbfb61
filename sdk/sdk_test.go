package sdk

import (
	"errors"
	"strings"
	"testing"
)

func TestMurmur2KafkaVectors(t *testing.T) {
	// From Kafka's UtilsTest.testMurmur2.
	for in, want := range map[string]int32{
		"21": -973932308, "foobar": -790332482, "a-little-bit-long-string": -985981536,
		"a-little-bit-longer-string": -1486304829, "abc": 479470107,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
	} {
		if got := Murmur2([]byte(in)); got != want {
			t.Errorf("Murmur2(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestLocalPartition(t *testing.T) {
	HandlePartition(func(r Record, n int) int {
		if r.Key == nil {
			return n - 1
		}
		return len(r.Key) % n
	})
	var seen string
	initFns = nil
	OnInit(func() error { seen = Param("mode"); return nil })
	parts, err := LocalPartition(map[string]string{"mode": "x"},
		[]Record{{Key: []byte("ab")}, {}, {Key: []byte{}}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if seen != "x" || parts[0] != 2 || parts[1] != 2 || parts[2] != 0 {
		t.Fatalf("parts = %v, param seen %q", parts, seen)
	}
	HandlePartition(func(Record, int) int { return 5 })
	if _, err := LocalPartition(nil, []Record{{}}, 3); err == nil || !strings.Contains(err.Error(), "returned 5") {
		t.Fatalf("out-of-range partition: err = %v", err)
	}
	HandlePartition(func(Record, int) int { panic("boom") })
	if _, err := LocalPartition(nil, []Record{{}}, 3); err == nil || !strings.Contains(err.Error(), "panic: boom") {
		t.Fatalf("panic: err = %v", err)
	}
	initFns = nil
	OnInit(func() error { _, err := RequireParam("field"); return err })
	if _, err := LocalPartition(nil, []Record{{}}, 3); err == nil || !strings.Contains(err.Error(), `missing parameter "field"`) {
		t.Fatalf("init: err = %v", err)
	}
	initFns = nil
}

func TestLocalProcess(t *testing.T) {
	HandleProcess(func(r Record, emit func(Record)) error {
		switch string(r.Value) {
		case "drop":
		case "twice":
			emit(r)
			r.Value = []byte("again")
			r.Headers = append(r.Headers, Header{Key: "copy", Value: []byte("1")})
			emit(r)
		case "fail":
			return errors.New("cannot handle this")
		default:
			r.Key = nil
			emit(r)
		}
		return nil
	})
	outs, err := LocalProcess(nil, 4, []Record{
		{Offset: 10, Value: []byte("drop")},
		{Offset: 11, Value: []byte("twice"), Key: []byte("k"), Timestamp: 5},
		{Offset: 12, Value: []byte("map"), Key: []byte("k")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 3 {
		t.Fatalf("%d outputs: %+v", len(outs), outs)
	}
	if outs[0].SourceOffset != 11 || outs[1].SourceOffset != 11 || outs[2].SourceOffset != 12 {
		t.Errorf("source offsets %d %d %d", outs[0].SourceOffset, outs[1].SourceOffset, outs[2].SourceOffset)
	}
	if string(outs[1].Value) != "again" || len(outs[1].Headers) != 1 || outs[0].Timestamp != 5 || outs[2].Key != nil || outs[2].Partition != 4 {
		t.Errorf("outputs = %+v", outs)
	}
	_, err = LocalProcess(nil, 0, []Record{{Offset: 3, Value: []byte("fail")}})
	if err == nil || !strings.Contains(err.Error(), "offset 3: cannot handle this") {
		t.Fatalf("err = %v", err)
	}
}

// A FieldPartitioner's module asks for keys only with the default Missing
// or MissingKeysOnly: Missing sees a record's key and timestamp but no
// value or headers (as on the host), while the field is read from the full
// values. With a Missing of its own and no MissingKeysOnly it asks for
// everything and Missing sees the value. What is asked is decided before
// OnInit runs, as on the host.
func TestFieldPartitionerSendsKeysOnly(t *testing.T) {
	t.Cleanup(func() { fieldPart, initFns = nil, nil })
	var seen []Record
	own := func(r Record, n int) int {
		seen = append(seen, r)
		return 1
	}
	recs := []Record{
		{Key: []byte("k1"), Timestamp: 7, Value: []byte(`{"customer_id":"c-42"}`)},
		{Key: []byte("k2"), Timestamp: 8, Value: []byte(`not json`), Headers: []Header{{Key: "h", Value: []byte("v")}}},
	}
	for _, c := range []struct {
		name      string
		p         *FieldPartitioner
		fields    Fields
		wantValue bool
	}{
		{"own Missing", &FieldPartitioner{Path: "customer_id", Missing: own}, 3, true},
		{"own Missing, keys only", &FieldPartitioner{Path: "customer_id", Missing: own, MissingKeysOnly: true}, 0, false},
		{"default Missing", &FieldPartitioner{Path: "customer_id"}, 0, false},
	} {
		seen = nil
		HandleFieldPartition(c.p)
		if got := partitionFields(); got != c.fields {
			t.Fatalf("%s: sluice_partition_fields %d, want %d", c.name, got, c.fields)
		}
		parts, err := LocalPartition(nil, recs, 6)
		if err != nil {
			t.Fatal(err)
		}
		if parts[0] != KafkaPartition([]byte("c-42"), 6) {
			t.Fatalf("%s: partitions %v", c.name, parts)
		}
		if c.p.Missing == nil {
			if parts[1] != KafkaPartition([]byte("k2"), 6) {
				t.Fatalf("%s: partitions %v", c.name, parts)
			}
			continue
		}
		if parts[1] != 1 || len(seen) != 1 || string(seen[0].Key) != "k2" || seen[0].Timestamp != 8 {
			t.Fatalf("%s: partitions %v, Missing saw %+v", c.name, parts, seen)
		}
		if gotValue := len(seen[0].Value) > 0 || len(seen[0].Headers) > 0; gotValue != c.wantValue {
			t.Fatalf("%s: Missing saw value %q, headers %v", c.name, seen[0].Value, seen[0].Headers)
		}
	}
	// Set in OnInit, too late: the host asked before it (so does
	// LocalPartition), and the values were sent.
	p := &FieldPartitioner{Path: "customer_id", Missing: own}
	HandleFieldPartition(p)
	OnInit(func() error { p.MissingKeysOnly = true; return nil })
	seen = nil
	if _, err := LocalPartition(nil, recs, 6); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || len(seen[0].Value) == 0 {
		t.Fatalf("MissingKeysOnly set in OnInit: Missing saw %+v, want the value sent", seen)
	}
}

// A partition function that declares it reads only keys (or only
// headers) is sent only those, as the host would send them.
func TestPartitionReads(t *testing.T) {
	t.Cleanup(func() { partitionFn, partitionReads = nil, Values|Headers })
	var seen []Record
	HandlePartition(func(r Record, n int) int { seen = append(seen, r); return 0 })
	recs := []Record{{Key: []byte("k"), Timestamp: 9, Value: []byte("v"), Headers: []Header{{Key: "h", Value: []byte("x")}}}}
	for _, c := range []struct {
		declare                bool // call PartitionReads(reads)
		reads                  Fields
		fields                 Fields
		wantValue, wantHeaders bool
	}{{false, 0, 3, true, true}, {true, 0, 0, false, false}, {true, Headers, 2, false, true}, {true, Values, 1, true, false}} {
		partitionReads, seen = Values|Headers, nil
		if c.declare {
			PartitionReads(c.reads)
		}
		if got := partitionFields(); got != c.fields {
			t.Fatalf("reads %d (declared %v): sluice_partition_fields %d, want %d", c.reads, c.declare, got, c.fields)
		}
		if _, err := LocalPartition(nil, recs, 2); err != nil {
			t.Fatal(err)
		}
		r := seen[0]
		if string(r.Key) != "k" || r.Timestamp != 9 || (len(r.Value) > 0) != c.wantValue || (len(r.Headers) > 0) != c.wantHeaders {
			t.Fatalf("reads %d: the function saw %+v", c.reads, r)
		}
	}
}
