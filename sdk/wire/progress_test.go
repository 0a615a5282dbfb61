package wire

import "testing"

func TestETA(t *testing.T) {
	for _, tc := range []struct {
		left int64
		rate float64
		want float64
	}{
		{0, -1, 0},
		{0, 0, 0},
		{-1, 100, -1},
		{1000, -1, -1},
		{1000, 0, -1}, // stalled
		{1000, 250, 4},
		{3 << 20, 1 << 20, 3},
	} {
		if got := ETA(tc.left, tc.rate); got != tc.want {
			t.Errorf("eta(%d, %v) = %v, want %v", tc.left, tc.rate, got, tc.want)
		}
	}
}

func TestSumProgress(t *testing.T) {
	cp := func(left int64, rate, eta float64, unknown int) CopyProgress {
		return CopyProgress{BytesLeft: left, Rate: rate, ETASeconds: eta, Unknown: unknown}
	}
	for _, tc := range []struct {
		name  string
		parts []CopyProgress
		want  CopyProgress
	}{
		{"nothing", nil, cp(0, 0, 0, 0)},
		{"two copies", []CopyProgress{cp(100, 10, 10, 0), cp(600, 20, 30, 0)}, cp(700, 30, 30, 0)},
		{"one done, rate unknown", []CopyProgress{cp(0, -1, 0, 0), cp(600, 20, 30, 0)}, cp(600, 20, 30, 0)},
		{"one stalled", []CopyProgress{cp(100, 0, -1, 0), cp(600, 20, 30, 0)}, cp(700, 20, -1, 0)},
		{"one unknown", []CopyProgress{cp(-1, -1, -1, 1), cp(600, 20, 30, 0)}, cp(600, 20, -1, 1)},
		{"all unknown", []CopyProgress{cp(-1, -1, -1, 1), cp(-1, -1, -1, 2)}, cp(-1, -1, -1, 3)},
	} {
		if got := SumProgress(tc.parts); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
