package storage

import (
	"encoding/binary"
	"fmt"
)

// File layout (see docs/storage.md):
//
//	bucket "batches": key = base offset (8 bytes BE) -> sub-bucket holding
//	                  one key "raw" whose value is the encoded batch.
//	bucket "meta":    "format", "start", "end", "size", "hw", "clean"
//	bucket "epochs":  key = leader epoch (4 bytes BE) -> first offset (8 bytes BE)
//	bucket "tindex":  key = running max timestamp (8 bytes, sign bit
//	                  flipped) -> base offset of the batch that raised it
//
// A batch lives in a sub-bucket of its own rather than as a plain value:
// bbolt keeps at least two elements per leaf and rewrites the whole
// rightmost leaf on every append, so plain 100 KiB values would be copied
// several times over. A sub-bucket's root page is written once and never
// touched again; the parent leaf only holds small bucket headers.
var (
	bucketBatches = []byte("batches")
	bucketMeta    = []byte("meta")
	bucketEpochs  = []byte("epochs")
	bucketTindex  = []byte("tindex")

	keyRaw    = []byte("raw")
	keyFormat = []byte("format")
	keyStart  = []byte("start")
	keyEnd    = []byte("end")
	keySize   = []byte("size")
	keyHW     = []byte("hw")
	keyClean  = []byte("clean")
)

// formatVersion is stored under meta/format; Open refuses other versions.
const formatVersion = 1

func u64key(v int64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], uint64(v))
	return k[:]
}

func epochKey(e int32) []byte {
	var k [4]byte
	binary.BigEndian.PutUint32(k[:], uint32(e))
	return k[:]
}

// tsKey orders signed timestamps as unsigned big-endian keys.
func tsKey(ts int64) []byte { return u64key(int64(uint64(ts) ^ (1 << 63))) }

func tsFromKey(k []byte) int64 { return int64(binary.BigEndian.Uint64(k) ^ (1 << 63)) }

func decodeU64(name string, v []byte) (int64, error) {
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: %s has %d bytes, want 8", ErrCorrupt, name, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}
