//go:build !wasip1

package sdk

import (
	"strings"

	"github.com/sluicehq/sluice/sdk/fieldpart"
)

// hostPartitionCallByJSONField does off Wasm (LocalPartition, plain go
// test) what the host function does, with the same code the host runs.
func hostPartitionCallByJSONField(path string, out []byte) int32 {
	if localBatch == nil {
		return -4 // not within a partition call
	}
	steps := splitPath(path)
	for i := range localBatch {
		le.PutUint32(out[4*i:], uint32(fieldpart.Partition(localBatch[i].Value, steps, localPartitions)))
	}
	return int32(len(localBatch))
}

// splitPath splits a dotted path.
func splitPath(path string) []string { return strings.Split(path, ".") }
