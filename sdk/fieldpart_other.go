//go:build !wasip1

package sdk

import "github.com/sluicehq/sluice/sdk/fieldpart"

// hostPartitionByJSONField does off Wasm (LocalPartition, plain go test)
// what the host function does: the same code the host runs.
func hostPartitionByJSONField(in []byte, path string, partitions int, out []byte) int32 {
	parts := make([]int32, len(out)/4)
	n, err := fieldpart.Partitions(in, splitPath(path), partitions, parts)
	if err != nil {
		return -1
	}
	for i := range n {
		le.PutUint32(out[4*i:], uint32(parts[i]))
	}
	return int32(n)
}
