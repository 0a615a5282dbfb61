package groups

import (
	"errors"
	"testing"
)

func TestOffsetRecordRoundTrip(t *testing.T) {
	k := OffsetKey{Group: "billing/eu", Topic: "orders", Partition: 7}
	c := Committed{Offset: 1 << 40, Metadata: "worker-3", Timestamp: 1700000000000}
	key, val := encodeOffsetRecord(k, &c)
	gotK, gotC, tomb, err := decodeOffsetRecord(key, val)
	if err != nil || gotK != k || gotC != c || tomb {
		t.Fatalf("commit round trip = %+v %+v %v %v", gotK, gotC, tomb, err)
	}
	key, val = encodeOffsetRecord(k, nil)
	gotK, _, tomb, err = decodeOffsetRecord(key, val)
	if err != nil || gotK != k || !tomb {
		t.Fatalf("tombstone round trip = %+v %v %v", gotK, tomb, err)
	}
	_, good := encodeOffsetRecord(k, &c)
	for _, bad := range [][]byte{nil, {0}, {1, 0, 0, 0}, {0, 2, 0, 0}, {0, 0, 0, 9, 'a'}, good[:len(good)-1], append(good, 0)} {
		if _, _, _, err := decodeOffsetRecord([]byte("g"), bad); !errors.Is(err, errBadOffsetRecord) {
			t.Fatalf("decodeOffsetRecord(%v) = %v", bad, err)
		}
	}
	if _, _, _, err := decodeOffsetRecord(nil, good); !errors.Is(err, errBadOffsetRecord) {
		t.Fatalf("empty key accepted: %v", err)
	}
}

func TestOffsetsPartitionStable(t *testing.T) {
	a, b := offsetsPartition("billing", 16), offsetsPartition("billing", 16)
	if a != b || a < 0 || a >= 16 {
		t.Fatalf("offsetsPartition = %d, %d", a, b)
	}
}
