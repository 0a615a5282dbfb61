//go:build wasip1

package sdk

// The module's ABI exports. Only built for GOOS=wasip1; everything they call
// is plain Go in abi.go.

import "unsafe"

// in is the one input buffer handed to the host by sluice_alloc.
var in []byte

//go:wasmexport sluice_abi_version
func exportABIVersion() int32 { return ABIVersion }

//go:wasmexport sluice_alloc
func exportAlloc(size int32) uint32 {
	if size <= 0 {
		return 0
	}
	if cap(in) < int(size) {
		in = make([]byte, size)
	}
	in = in[:size]
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(in))))
}

// input returns the bytes the host placed, checking that they are the
// buffer sluice_alloc handed out.
func input(ptr, n uint32) ([]byte, bool) {
	if n == 0 || int(n) > len(in) || uintptr(ptr) != uintptr(unsafe.Pointer(unsafe.SliceData(in))) {
		return nil, false
	}
	return in[:n], true
}

// pack returns the packed (ptr << 32 | len) of a result.
func pack(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))<<32 | uint64(len(b))
}

//go:wasmexport sluice_partition_fields
func exportPartitionFields() int32 { return int32(partitionFields()) }

//go:wasmexport sluice_init
func exportInit(ptr, n uint32) uint64 {
	b, ok := input(ptr, n)
	if !ok {
		return pack(errorResult(errMalformed.Error()))
	}
	return pack(handleInit(b))
}

//go:wasmexport sluice_partition
func exportPartition(ptr, n, partitions uint32) uint64 {
	b, ok := input(ptr, n)
	if !ok {
		return pack(errorResult(errMalformed.Error()))
	}
	return pack(handlePartition(b, int(partitions)))
}

//go:wasmexport sluice_process
func exportProcess(ptr, n uint32, partition int32) uint64 {
	b, ok := input(ptr, n)
	if !ok {
		return pack(errorResult(errMalformed.Error()))
	}
	return pack(handleProcess(b, partition))
}
