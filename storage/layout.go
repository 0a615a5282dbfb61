package storage

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
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

// Side-bucket values (meta keys, epoch cache, time index) are sealed: 8
// bytes big-endian followed by a CRC-32C over the key and those 8 bytes, so
// a flipped bit in a high-watermark checkpoint or an epoch entry is an
// error, never a wrong offset. Files written before values were sealed
// hold bare 8-byte values; they are read unchecked (their meta keys are
// still cross-checked against the batches on Open) and sealed when next
// written.
const sealedLen = 12

func sealed(key []byte, v int64) []byte {
	b := make([]byte, sealedLen)
	binary.BigEndian.PutUint64(b, uint64(v))
	binary.BigEndian.PutUint32(b[8:], sealSum(key, b[:8]))
	return b
}

func sealSum(key, val []byte) uint32 {
	return crc32.Update(crc32.Checksum(key, castagnoli), castagnoli, val)
}

// decodeSealed reads a sealed (or legacy 8-byte) value stored under key.
func decodeSealed(name string, key, v []byte) (int64, error) {
	switch len(v) {
	case 8:
	case sealedLen:
		if got, want := sealSum(key, v[:8]), binary.BigEndian.Uint32(v[8:]); got != want {
			return 0, fmt.Errorf("%w: %s: CRC-32C %08x, stored %08x", ErrCorrupt, name, got, want)
		}
	default:
		return 0, fmt.Errorf("%w: %s has %d bytes, want 8 or %d", ErrCorrupt, name, len(v), sealedLen)
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// sealedFlag is the clean flag's value: one byte and its CRC-32C.
func sealedFlag(key []byte, f byte) []byte {
	b := []byte{f, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], sealSum(key, b[:1]))
	return b
}

// decodeFlag reads the clean flag (sealed, or a legacy single byte).
func decodeFlag(name string, key, v []byte) (byte, error) {
	switch len(v) {
	case 1:
	case 5:
		if got, want := sealSum(key, v[:1]), binary.BigEndian.Uint32(v[1:]); got != want {
			return 0, fmt.Errorf("%w: %s: CRC-32C %08x, stored %08x", ErrCorrupt, name, got, want)
		}
	default:
		return 0, fmt.Errorf("%w: %s has %d bytes", ErrCorrupt, name, len(v))
	}
	return v[0], nil
}
