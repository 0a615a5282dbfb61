package storage

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sluicehq/sluice/record"
)

func tsRecs(ts ...int64) []record.Record {
	out := make([]record.Record, len(ts))
	for i, t := range ts {
		out[i] = record.Record{Value: []byte("v"), Timestamp: t}
	}
	return out
}

func TestOffsetForTimestamp(t *testing.T) {
	l := openLog(t, Options{})
	mustAppend(t, l, tsRecs(100, 120, 110), 0) // 0-2
	mustAppend(t, l, tsRecs(90, 95), 0)        // 3-4: older timestamps, max 95
	mustAppend(t, l, tsRecs(130, 125, 200), 0) // 5-7
	mustAppend(t, l, tsRecs(150), 0)           // 8
	cases := map[int64]int64{
		-5:  0,
		100: 0,
		101: 1,
		115: 1,
		121: 5,
		126: 5,
		131: 7,
		200: 7,
		201: 9, // none: the log end
	}
	check := func(l *Log) {
		t.Helper()
		for ts, want := range cases {
			if got, err := l.OffsetForTimestamp(ts); err != nil || got != want {
				t.Errorf("OffsetForTimestamp(%d) = %d, %v; want %d", ts, got, err, want)
			}
		}
	}
	check(l)
	l = reopen(t, l, Options{})
	check(l)

	// After truncation the time index forgets the removed batches.
	if err := l.TruncateTo(5); err != nil {
		t.Fatal(err)
	}
	if got, _ := l.OffsetForTimestamp(121); got != 5 {
		t.Fatalf("after truncate: %d, want end 5", got)
	}
	mustAppend(t, l, tsRecs(122), 0) // 5
	if got, _ := l.OffsetForTimestamp(121); got != 5 {
		t.Fatalf("after re-append: %d, want 5", got)
	}
	// After retention the answer is never below the log start.
	if err := l.SetHighWatermark(6); err != nil {
		t.Fatal(err)
	}
	if n, err := l.ApplyRetention(time.UnixMilli(0), Retention{Bytes: 1}); err != nil || n != 2 {
		t.Fatalf("retention removed %d, %v", n, err)
	}
	if got, _ := l.OffsetForTimestamp(0); got != 5 {
		t.Fatalf("after retention: %d, want start 5", got)
	}
}

// batchesOf appends n single-record batches with the given timestamps.
func batchesOf(t *testing.T, l *Log, ts ...int64) {
	t.Helper()
	for _, x := range ts {
		mustAppend(t, l, tsRecs(x), 0)
	}
}

func TestRetentionByTimeNeverPastHighWatermark(t *testing.T) {
	l := openLog(t, Options{})
	batchesOf(t, l, 1000, 2000, 3000, 4000, 5000) // offsets 0..4
	r := Retention{Ms: 1500}
	now := time.UnixMilli(5000)
	// HW 0: nothing may go, however old.
	if n, err := l.ApplyRetention(now, r); err != nil || n != 0 {
		t.Fatalf("with hw 0 removed %d, %v", n, err)
	}
	if err := l.SetHighWatermark(2); err != nil {
		t.Fatal(err)
	}
	// Batches 0 and 1 are older than 1500 ms and below the HW.
	if n, err := l.ApplyRetention(now, r); err != nil || n != 2 || l.StartOffset() != 2 {
		t.Fatalf("removed %d, start %d, %v", n, l.StartOffset(), err)
	}
	if err := l.SetHighWatermark(5); err != nil {
		t.Fatal(err)
	}
	// Batch 2 (3000) is 2000 ms old at 5000: removed; 3 (4000) is 1000 ms old: kept.
	if n, _ := l.ApplyRetention(now, r); n != 1 || l.StartOffset() != 3 {
		t.Fatalf("removed %d, start %d", n, l.StartOffset())
	}
	if n, _ := l.ApplyRetention(time.UnixMilli(1_000_000), r); n != 2 || l.StartOffset() != 5 || l.Size() != 0 {
		t.Fatalf("all expired: removed %d, start %d, size %d", n, l.StartOffset(), l.Size())
	}
	l = reopen(t, l, Options{})
	if l.StartOffset() != 5 || l.EndOffset() != 5 {
		t.Fatalf("after reopen: %d..%d", l.StartOffset(), l.EndOffset())
	}
	if base := mustAppend(t, l, recs("x", 1), 0); base != 5 {
		t.Fatalf("base %d", base)
	}
}

func TestRetentionByBytes(t *testing.T) {
	l := openLog(t, Options{})
	for i := 0; i < 10; i++ {
		mustAppend(t, l, recs("same-size", 2), 0)
	}
	per := l.Size() / 10
	if err := l.SetHighWatermark(l.EndOffset()); err != nil {
		t.Fatal(err)
	}
	// Keep at least 3.5 batches' worth: 6 go, 4 stay.
	n, err := l.ApplyRetention(time.Now(), Retention{Bytes: per*3 + per/2})
	if err != nil || n != 6 || l.Size() != 4*per || l.StartOffset() != 12 {
		t.Fatalf("removed %d, size %d (per %d), start %d, %v", n, l.Size(), per, l.StartOffset(), err)
	}
	// Exactly at the limit: nothing goes, and nothing is written.
	st := l.db.Stats()
	writes := st.TxStats.GetWrite()
	if n, _ := l.ApplyRetention(time.Now(), Retention{Bytes: 4 * per}); n != 0 {
		t.Fatalf("at limit removed %d", n)
	}
	st = l.db.Stats()
	if w := st.TxStats.GetWrite(); w != writes {
		t.Fatalf("a retention pass that removed nothing wrote %d pages", w-writes)
	}
	if _, err := l.Read(11, 100, 100); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below start: %v", err)
	}
}

func TestRetentionMovesEpochCache(t *testing.T) {
	l := openLog(t, Options{})
	mustAppend(t, l, recs("a", 2), 1) // 0-1
	mustAppend(t, l, recs("b", 2), 1) // 2-3
	mustAppend(t, l, recs("c", 2), 2) // 4-5
	if err := l.SetHighWatermark(6); err != nil {
		t.Fatal(err)
	}
	per := l.Size() / 3
	if n, _ := l.ApplyRetention(time.Now(), Retention{Bytes: 2 * per}); n != 1 {
		t.Fatalf("removed %d", n)
	}
	if want := [][2]int64{{1, 2}, {2, 4}}; !reflect.DeepEqual(l.EpochEntries(), want) {
		t.Fatalf("epochs %v, want %v", l.EpochEntries(), want)
	}
	if n, _ := l.ApplyRetention(time.Now(), Retention{Bytes: 1}); n != 1 {
		t.Fatalf("removed %d", n)
	}
	if want := [][2]int64{{2, 4}}; !reflect.DeepEqual(l.EpochEntries(), want) {
		t.Fatalf("epochs %v, want %v", l.EpochEntries(), want)
	}
	l = reopen(t, l, Options{})
	if e, end, _ := l.EndOffsetForEpoch(1); e != 1 || end != 4 {
		t.Fatalf("EndOffsetForEpoch(1) = %d %d, want 1 4 (older than all entries)", e, end)
	}
}

// TestJanitorAppliesRetentionInBackground: the janitor's goroutine removes
// expired batches and checkpoints the high watermark.
func TestJanitorAppliesRetentionInBackground(t *testing.T) {
	clock := &fakeClock{t: time.UnixMilli(10_000)}
	opts := Options{Now: clock.Now}
	l := openLog(t, opts)
	batchesOf(t, l, 1000, 2000, 9000)
	if err := l.SetHighWatermark(3); err != nil {
		t.Fatal(err)
	}
	j := NewJanitor(5*time.Millisecond, nil)
	defer j.Close()
	j.Add(l, Retention{Ms: 5000})
	deadline := time.Now().Add(10 * time.Second)
	for l.StartOffset() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("janitor did not apply retention: start %d", l.StartOffset())
		}
		time.Sleep(5 * time.Millisecond) // polling the observable outcome
	}
	j.Remove(l)
	j.Close()
	// The HW checkpoint was written by the janitor, not by Close: check the
	// file while the log is still open by reading the meta key.
	var hw int64
	if err := l.view(func(tx *boltTx) error {
		s, err := readState(tx)
		hw = s.hw
		return err
	}); err != nil || hw != 3 {
		t.Fatalf("hw checkpoint %d, %v; want 3", hw, err)
	}
}
