package broker

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/record"
)

func TestValidateRecords(t *testing.T) {
	ok := []record.Record{{Value: []byte("a")}, {Timestamp: 1700000000000, Value: []byte("b")}}
	if err := validateRecords("t", ok, 10); err != nil {
		t.Errorf("good records: %v", err)
	}
	cases := []struct {
		recs  []record.Record
		index int
		is    error
	}{
		{[]record.Record{{Value: []byte("a")}, {Timestamp: -1}}, 1, ErrInvalidRequest},
		{[]record.Record{{Value: []byte("0123456789x")}}, 0, ErrRecordTooLarge},
		{[]record.Record{{}, {}, {Key: []byte("k"), Value: []byte("0123456789")}}, 2, ErrRecordTooLarge},
	}
	for _, c := range cases {
		err := validateRecords("t", c.recs, 10)
		var re *RecordError
		if !errors.As(err, &re) || re.Index != c.index || !errors.Is(err, c.is) {
			t.Errorf("%+v: %v, want record %d %v", c.recs, err, c.index, c.is)
		}
	}
}

func TestCheckShares(t *testing.T) {
	big := make([]byte, 1<<20) // 1 MiB values
	var recs []record.Record
	var parts []int32
	for i := 0; i < 12; i++ { // 12 MiB in all
		recs = append(recs, record.Record{Value: big})
		parts = append(parts, int32(i%2)) // 6 MiB per partition: fits
	}
	if err := checkShares("t", recs, parts); err != nil {
		t.Errorf("6 MiB per partition: %v", err)
	}
	for i := range parts {
		parts[i] = 0 // 12 MiB in partition 0: does not fit in one batch
	}
	err := checkShares("t", recs, parts)
	if !errors.Is(err, ErrRecordTooLarge) || !strings.Contains(err.Error(), "partition 0") {
		t.Errorf("12 MiB in one partition: %v", err)
	}
	if err := checkShare("t", 3, recs[:8]); !errors.Is(err, ErrRecordTooLarge) {
		t.Errorf("8 MiB and the overhead in one share: %v", err)
	}
	if err := checkShare("t", 3, recs[:7]); err != nil {
		t.Errorf("7 MiB in one share: %v", err)
	}
}
