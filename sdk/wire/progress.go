package wire

// Reassignment progress arithmetic, shared by the server (which fills
// ReassignmentStatus.Progress and ReassignmentList.Total) and the CLI.

// ETA is left bytes at rate bytes per second in seconds: 0 when nothing
// is left, -1 when either is unknown or nothing is being copied.
func ETA(left int64, rate float64) float64 {
	switch {
	case left == 0:
		return 0
	case left < 0 || rate <= 0:
		return -1
	}
	return float64(left) / rate
}

// SumProgress adds copies up: the bytes left and rates that are known
// (Unknown counts the others; -1 when none is known), and the latest
// ETA, unknown (-1) when a copy with bytes left has none (it has no
// figures or is stalled). Nothing at all is nothing left: 0, 0, 0.
func SumProgress(parts []CopyProgress) CopyProgress {
	sum := CopyProgress{Rate: -1}
	if len(parts) == 0 {
		sum.Rate = 0
		return sum
	}
	known := 0
	for _, p := range parts {
		sum.Unknown += p.Unknown
		if p.BytesLeft >= 0 {
			sum.BytesLeft += p.BytesLeft
			known++
		} else if p.Unknown == 0 {
			sum.Unknown++
		}
		if p.Rate >= 0 {
			sum.Rate = max(sum.Rate, 0) + p.Rate
		}
		switch {
		case sum.ETASeconds < 0:
		case p.ETASeconds < 0 && p.BytesLeft != 0:
			sum.ETASeconds = -1
		default:
			sum.ETASeconds = max(sum.ETASeconds, p.ETASeconds)
		}
	}
	if known == 0 {
		sum.BytesLeft = -1
	}
	return sum
}
