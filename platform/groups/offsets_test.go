package groups

import (
	"errors"
	"testing"
)

func TestOffsetRecordRoundTrip(t *testing.T) {
	k := OffsetKey{Group: "billing/eu", Topic: "orders", Partition: 7}
	gotK, err := decodeOffsetKey(encodeOffsetKey(k))
	if err != nil || gotK != k {
		t.Fatalf("key round trip = %+v, %v", gotK, err)
	}
	c := Committed{Offset: 1 << 40, Metadata: "worker-3", Timestamp: 1700000000000}
	gotC, err := decodeCommitted(encodeCommitted(c))
	if err != nil || gotC != c {
		t.Fatalf("value round trip = %+v, %v", gotC, err)
	}
	for _, bad := range [][]byte{nil, {1}, {0, 0, 5, 'a'}, encodeOffsetKey(k)[:10]} {
		if _, err := decodeOffsetKey(bad); !errors.Is(err, errBadOffsetRecord) {
			t.Fatalf("decodeOffsetKey(%v) = %v", bad, err)
		}
	}
	if _, err := decodeCommitted(encodeCommitted(c)[:20]); !errors.Is(err, errBadOffsetRecord) {
		t.Fatalf("truncated value decoded: %v", err)
	}
}

func TestOffsetsPartitionStable(t *testing.T) {
	a, b := offsetsPartition("billing", 16), offsetsPartition("billing", 16)
	if a != b || a < 0 || a >= 16 {
		t.Fatalf("offsetsPartition = %d, %d", a, b)
	}
}
