package broker

// FollowerStepKind says what a follower does with one partition's answer
// from its leader.
type FollowerStepKind int

// The follower's steps.
const (
	// StepAppend: append the answer's batches and take its HW.
	StepAppend FollowerStepKind = iota
	// StepTruncate: cut the log at Offset (storage TruncateTo), then fetch.
	StepTruncate
	// StepRestartAt: empty the log and restart it at Offset (storage
	// TruncateFullyAndStartAt), then fetch.
	StepRestartAt
	// StepRecheck: ask the leader again where the follower's latest epoch
	// ends (the follower's log end is past the leader's).
	StepRecheck
	// StepRetry: nothing to do now; fetch again after a pause (the leader
	// or its metadata is not where the follower's is yet).
	StepRetry
)

// FollowerStep is a follower's next step for one partition.
type FollowerStep struct {
	Kind   FollowerStepKind
	Offset int64
}

// FollowerPosition is a follower replica's log as it asked: its log start,
// its log end (the fetch offset) and the epoch it queried (-1 for a plain
// fetch).
type FollowerPosition struct {
	LogStart int64
	LEO      int64
	Asked    int32
}

// NextFollowerStep decides what a follower does with the leader's answer
// res to a fetch made at pos. It is a plain function: the fetcher does
// the I/O. localEndForEpoch is the follower's own end offset of an epoch.
//
//   - An epoch answer gives the truncation point (TruncationOffset); one
//     below the follower's log start restarts the log there instead.
//   - An out-of-range answer with the follower behind the leader's log
//     start restarts the follower at that start; with the follower past
//     the leader's log end it asks where its epoch ends again.
//   - Epoch and leadership errors wait for the metadata to settle.
func NextFollowerStep(pos FollowerPosition, res *ReplicaFetchResult, localEndForEpoch func(epoch int32) int64) FollowerStep {
	switch res.Error {
	case "":
	case ErrCodeOutOfRange:
		switch {
		case pos.LEO < res.LogStart:
			return FollowerStep{Kind: StepRestartAt, Offset: res.LogStart}
		case pos.LEO > res.LogEnd:
			return FollowerStep{Kind: StepRecheck}
		}
		return FollowerStep{Kind: StepRetry}
	default:
		return FollowerStep{Kind: StepRetry}
	}
	if pos.Asked >= 0 {
		if res.EpochEnd == nil {
			return FollowerStep{Kind: StepRetry}
		}
		off := TruncationOffset(pos.LEO, pos.Asked, *res.EpochEnd, localEndForEpoch)
		if off < pos.LogStart {
			return FollowerStep{Kind: StepRestartAt, Offset: max(off, res.LogStart)}
		}
		return FollowerStep{Kind: StepTruncate, Offset: off}
	}
	return FollowerStep{Kind: StepAppend}
}

// FollowerHighWatermark is the HW a follower keeps after an answer from
// its leader: the leader's HW capped by the follower's own log end, and
// never below the HW it already had (a leader that answers a lower one,
// a new leader that has not heard from its ISR yet, never moves a
// follower's HW back). cur never exceeds leo: a follower cuts its log
// below its HW only after an unclean election, and then takes the HW
// down with it (storage.Log.TruncateTo).
func FollowerHighWatermark(cur, leaderHW, leo int64) int64 {
	return max(cur, min(leaderHW, leo))
}
