package storage

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

func TestEpochCacheAndEndOffsetForEpoch(t *testing.T) {
	l := openLog(t, Options{})
	if e, off, err := l.EndOffsetForEpoch(0); err != nil || e != UndefinedEpoch || off != UndefinedOffset {
		t.Fatalf("empty log: %d %d %v", e, off, err)
	}
	// epoch 1: offsets 0..4, epoch 3: 5..9 (two batches), epoch 4: 10..12
	mustAppend(t, l, recs("a", 5), 1)
	mustAppend(t, l, recs("b", 2), 3)
	mustAppend(t, l, recs("c", 3), 3)
	mustAppend(t, l, recs("d", 3), 4)
	if want := [][2]int64{{1, 0}, {3, 5}, {4, 10}}; !reflect.DeepEqual(l.EpochEntries(), want) {
		t.Fatalf("epochs %v, want %v", l.EpochEntries(), want)
	}
	cases := []struct {
		ask       int32
		wantEpoch int32
		wantEnd   int64
	}{
		{0, 0, 0},    // older than all: start of the oldest epoch
		{1, 1, 5},    // ends where epoch 3 starts
		{2, 1, 5},    // unknown epoch: largest <= 2 is 1
		{3, 3, 10},   //
		{4, 4, 13},   // latest: the log end
		{9, 4, 13},   // newer than all: the latest and the log end
		{-1, -1, -1}, // undefined
	}
	check := func(l *Log) {
		t.Helper()
		for _, c := range cases {
			e, end, err := l.EndOffsetForEpoch(c.ask)
			if err != nil || e != c.wantEpoch || end != c.wantEnd {
				t.Errorf("EndOffsetForEpoch(%d) = %d, %d, %v; want %d, %d", c.ask, e, end, err, c.wantEpoch, c.wantEnd)
			}
		}
	}
	check(l)
	l = reopen(t, l, Options{})
	check(l)
	if l.LatestEpoch() != 4 {
		t.Fatalf("latest %d", l.LatestEpoch())
	}

	// Truncate inside epoch 3's second batch (7..9): the batch goes whole,
	// epoch 4 goes, epoch 3 now ends at the new log end 7.
	if err := l.TruncateTo(8); err != nil {
		t.Fatal(err)
	}
	if l.EndOffset() != 7 {
		t.Fatalf("end %d after TruncateTo(8), want 7 (batch boundary)", l.EndOffset())
	}
	if want := [][2]int64{{1, 0}, {3, 5}}; !reflect.DeepEqual(l.EpochEntries(), want) {
		t.Fatalf("epochs %v, want %v", l.EpochEntries(), want)
	}
	if e, end, _ := l.EndOffsetForEpoch(4); e != 3 || end != 7 {
		t.Fatalf("after truncation EndOffsetForEpoch(4) = %d, %d; want 3, 7", e, end)
	}
	// A new leader epoch continues from the truncation point.
	if base := mustAppend(t, l, recs("e", 2), 5); base != 7 {
		t.Fatalf("base %d, want 7", base)
	}
	if e, end, _ := l.EndOffsetForEpoch(4); e != 3 || end != 7 {
		t.Fatalf("EndOffsetForEpoch(4) = %d, %d; want 3, 7", e, end)
	}
	l = reopen(t, l, Options{})
	if want := [][2]int64{{1, 0}, {3, 5}, {5, 7}}; !reflect.DeepEqual(l.EpochEntries(), want) {
		t.Fatalf("epochs after reopen %v, want %v", l.EpochEntries(), want)
	}
	got := readAll(t, l, 0)
	if len(got) != 9 || string(got[7].Value) != "e-0" || string(got[6].Value) != "b-1" {
		t.Fatalf("records after truncate+append: %d, %q", len(got), got[len(got)-1].Value)
	}
	// Truncating to a batch boundary keeps everything before it.
	if err := l.TruncateTo(5); err != nil || l.EndOffset() != 5 {
		t.Fatalf("TruncateTo(5): end %d, %v", l.EndOffset(), err)
	}
	if want := [][2]int64{{1, 0}}; !reflect.DeepEqual(l.EpochEntries(), want) {
		t.Fatalf("epochs %v, want %v", l.EpochEntries(), want)
	}
}

func TestTruncateEdges(t *testing.T) {
	l := openLog(t, Options{})
	threeBatches(t, l) // 0-2, 3-6, 7-11
	if err := l.SetHighWatermark(12); err != nil {
		t.Fatal(err)
	}
	if err := l.TruncateTo(20); err != nil || l.EndOffset() != 12 {
		t.Fatalf("TruncateTo past end: end %d, %v", l.EndOffset(), err)
	}
	if err := l.TruncateTo(4); err != nil || l.EndOffset() != 3 {
		t.Fatalf("TruncateTo(4): end %d, %v", l.EndOffset(), err)
	}
	if l.HighWatermark() != 3 {
		t.Fatalf("high watermark %d, want lowered to 3", l.HighWatermark())
	}
	if _, err := l.Read(3, 100, 100); err != nil {
		t.Fatalf("read at new end: %v", err)
	}
	if _, err := l.Read(4, 100, 100); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read past new end: %v", err)
	}
	if err := l.SetHighWatermark(4); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("hw past end: %v", err)
	}
	if err := l.TruncateTo(1); err != nil || l.EndOffset() != 0 || l.Size() != 0 {
		t.Fatalf("TruncateTo(1): end %d size %d, %v", l.EndOffset(), l.Size(), err)
	}
	// A follower whose leader's log starts at 100 restarts there.
	if err := l.TruncateFullyAndStartAt(100); err != nil {
		t.Fatal(err)
	}
	if l.StartOffset() != 100 || l.EndOffset() != 100 || l.HighWatermark() != 100 || l.LatestEpoch() != UndefinedEpoch {
		t.Fatalf("restart: %d %d %d %d", l.StartOffset(), l.EndOffset(), l.HighWatermark(), l.LatestEpoch())
	}
	if base := mustAppend(t, l, recs("x", 2), 7); base != 100 {
		t.Fatalf("base %d", base)
	}
	l = reopen(t, l, Options{})
	if l.StartOffset() != 100 || l.EndOffset() != 102 || l.HighWatermark() != 100 {
		t.Fatalf("after reopen: %d %d %d", l.StartOffset(), l.EndOffset(), l.HighWatermark())
	}
	if err := l.TruncateTo(99); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("TruncateTo below start: %v", err)
	}
}

// TestAppendReplicaCopiesLeader: a follower built from the leader's raw
// batches holds the same bytes, offsets and epochs.
func TestAppendReplicaCopiesLeader(t *testing.T) {
	ctx := context.Background()
	leader := openLog(t, Options{})
	mustAppend(t, leader, recs("a", 3), 1)
	mustAppend(t, leader, recs("b", 2), 2)
	mustAppend(t, leader, recs("c", 4), 2)
	follower := openLog(t, Options{Durability: DurabilityReplicated})

	res, err := leader.Read(0, 1<<20, leader.EndOffset())
	if err != nil {
		t.Fatal(err)
	}
	raws := [][]byte{res.Batches[0].Raw, res.Batches[1].Raw, res.Batches[2].Raw}
	if err := follower.AppendReplica(ctx, [][]byte{raws[1]}); !errors.Is(err, ErrNonContiguous) {
		t.Fatalf("gap: %v, want ErrNonContiguous", err)
	}
	if err := follower.AppendReplica(ctx, [][]byte{raws[0], raws[2]}); !errors.Is(err, ErrNonContiguous) {
		t.Fatalf("gap inside the call: %v, want ErrNonContiguous", err)
	}
	bad := append([]byte(nil), raws[0]...)
	bad[len(bad)-1] ^= 1
	if err := follower.AppendReplica(ctx, [][]byte{bad}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("bad CRC: %v, want ErrCorrupt", err)
	}
	if follower.EndOffset() != 0 {
		t.Fatal("refused batches were written")
	}
	if err := follower.AppendReplica(ctx, raws[:2]); err != nil {
		t.Fatal(err)
	}
	if err := follower.AppendReplica(ctx, raws[2:]); err != nil {
		t.Fatal(err)
	}
	if err := follower.AppendReplica(ctx, raws[2:]); !errors.Is(err, ErrNonContiguous) {
		t.Fatalf("duplicate: %v, want ErrNonContiguous", err)
	}
	fres, err := follower.Read(0, 1<<20, follower.EndOffset())
	if err != nil {
		t.Fatal(err)
	}
	for i := range res.Batches {
		if string(fres.Batches[i].Raw) != string(res.Batches[i].Raw) {
			t.Fatalf("batch %d differs from the leader's", i)
		}
	}
	if !reflect.DeepEqual(follower.EpochEntries(), leader.EpochEntries()) || follower.Size() != leader.Size() {
		t.Fatalf("follower epochs %v size %d, leader %v %d", follower.EpochEntries(), follower.Size(), leader.EpochEntries(), leader.Size())
	}
	// A follower that continues as leader must not go back in epochs.
	if _, err := follower.Append(ctx, recs("z", 1), 1); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("stale epoch after replication: %v", err)
	}
}
