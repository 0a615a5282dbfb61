package groups

import (
	"errors"
	"math"
	"testing"
)

func TestShiftOffset(t *testing.T) {
	cases := []struct{ cur, delta, start, end, want int64 }{
		{5, 2, 0, 10, 7},
		{5, -2, 0, 10, 3},
		{5, 100, 0, 10, 10},
		{5, -100, 3, 10, 3},
		{5, math.MaxInt64, 0, 10, 10},
		{5, math.MinInt64, 2, 10, 2},
		{math.MaxInt64 - 1, 5, 0, math.MaxInt64, math.MaxInt64},
		{0, 0, 4, 10, 4}, // a committed offset below a moved log start
	}
	for _, c := range cases {
		if got := shiftOffset(c.cur, c.delta, c.start, c.end); got != c.want {
			t.Errorf("shift %d by %d in [%d, %d] = %d, want %d", c.cur, c.delta, c.start, c.end, got, c.want)
		}
	}
}

func TestCommitOffsetInRange(t *testing.T) {
	cases := []struct {
		off, start, end, want int64
		refused               bool
	}{
		{5, 0, 10, 5, false},
		{10, 0, 10, 10, false}, // the high watermark itself: everything read
		{11, 0, 10, 0, true},
		{2, 4, 10, 4, false}, // below the log start: raised to it
		{0, 0, 0, 0, false},
	}
	for _, c := range cases {
		got, err := commitOffsetInRange("t", 0, c.off, c.start, c.end)
		if (err != nil) != c.refused || (!c.refused && got != c.want) {
			t.Errorf("commit %d in [%d, %d] = %d, %v; want %d (refused %v)", c.off, c.start, c.end, got, err, c.want, c.refused)
		}
		if err != nil && !errors.Is(err, ErrOffsetOutOfRange) {
			t.Errorf("error %v is not ErrOffsetOutOfRange", err)
		}
	}
}
