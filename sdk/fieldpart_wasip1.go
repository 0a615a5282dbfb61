//go:build wasip1

package sdk

import "unsafe"

//go:wasmimport sluice partition_by_json_field
func importPartitionByJSONField(batchPtr, batchLen, pathPtr, pathLen uint32, partitions int32, outPtr uint32) int32

// hostPartitionByJSONField asks the host to partition the batch in by the
// JSON field at path, writing one little-endian i32 per record into out.
func hostPartitionByJSONField(in []byte, path string, partitions int, out []byte) int32 {
	if len(in) == 0 || len(out) == 0 {
		return 0
	}
	return importPartitionByJSONField(
		uint32(uintptr(unsafe.Pointer(unsafe.SliceData(in)))), uint32(len(in)),
		uint32(uintptr(unsafe.Pointer(unsafe.StringData(path)))), uint32(len(path)),
		int32(partitions), uint32(uintptr(unsafe.Pointer(unsafe.SliceData(out)))))
}
