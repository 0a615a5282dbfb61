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
