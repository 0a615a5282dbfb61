package storage

import "testing"

func TestSmoke(t *testing.T) {
	l := openLog(t, Options{})
	if b := mustAppend(t, l, recs("a", 3), 0); b != 0 {
		t.Fatalf("base %d", b)
	}
	if b := mustAppend(t, l, recs("b", 2), 1); b != 3 {
		t.Fatalf("base %d", b)
	}
	got := readAll(t, l, 0)
	if len(got) != 5 || string(got[4].Value) != "b-1" || got[4].Offset != 4 {
		t.Fatalf("got %+v", got)
	}
	l = reopen(t, l, Options{})
	if l.EndOffset() != 5 || l.LatestEpoch() != 1 {
		t.Fatalf("end %d epoch %d", l.EndOffset(), l.LatestEpoch())
	}
}
