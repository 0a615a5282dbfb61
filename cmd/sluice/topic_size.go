package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/sluicehq/sluice/sdk/client"
	"github.com/sluicehq/sluice/sdk/wire"
)

// topicBytes sums the partitions' log sizes (one replica each). known is
// false when a leader did not report its size; the sum then covers the
// others.
func topicBytes(tp *wire.Topic) (sum int64, known bool) {
	known = true
	for _, p := range tp.Partitions {
		if p.LogBytes < 0 {
			known = false
			continue
		}
		sum += p.LogBytes
	}
	return sum, known
}

// humanBytes formats n in binary units: 512 B, 1.5 KiB, 3.2 GiB.
func humanBytes(n int64) string {
	if n < 0 {
		return "?"
	}
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// sizeText is a topic's size for a table: "?" when unknown, "≥ N" when
// some partitions did not report.
func sizeText(sum int64, known bool) string {
	if known {
		return humanBytes(sum)
	}
	if sum == 0 {
		return "?"
	}
	return "≥ " + humanBytes(sum)
}

// topicWithSize is a `topic list --sizes` entry under -o json.
type topicWithSize struct {
	wire.TopicSummary
	// LogBytes sums one replica of each partition; -1 when the topic
	// could not be described.
	LogBytes int64 `json:"log_bytes"`
}

// listSizesInFlight bounds the describe requests of `topic list --sizes`.
const listSizesInFlight = 8

// topicSizes describes every topic of ts (a few at a time) and returns
// their sizes in order; -1 for a topic that could not be described or
// whose leaders did not all answer.
func topicSizes(ctx context.Context, cl *client.Client, ts []wire.TopicSummary) []int64 {
	out := make([]int64, len(ts))
	sem := make(chan struct{}, listSizesInFlight)
	var wg sync.WaitGroup
	for i := range ts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = -1
			tp, err := cl.DescribeTopic(ctx, ts[i].Name)
			if err != nil {
				return
			}
			if sum, known := topicBytes(tp); known {
				out[i] = sum
			}
		}()
	}
	wg.Wait()
	return out
}
