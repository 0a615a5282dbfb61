//go:build wasip1

package sdk

import "unsafe"

//go:wasmimport sluice partition_call_by_json_field
func importPartitionCallByJSONField(pathPtr, pathLen, outPtr uint32) int32

// hostPartitionCallByJSONField asks the host to partition the records of
// the running call, as it holds them, by the JSON field at path, writing
// one little-endian i32 per record into out.
func hostPartitionCallByJSONField(path string, out []byte) int32 {
	if len(out) == 0 {
		return 0
	}
	return importPartitionCallByJSONField(
		uint32(uintptr(unsafe.Pointer(unsafe.StringData(path)))), uint32(len(path)),
		uint32(uintptr(unsafe.Pointer(unsafe.SliceData(out)))))
}
