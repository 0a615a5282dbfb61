package groups

import (
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
