package partitioner

import "encoding/binary"

// Murmur2 is the 32-bit MurmurHash2 of data exactly as Kafka's
// org.apache.kafka.common.utils.Utils.murmur2 computes it (seed 0x9747b28c),
// including its signed result. Kafka's default partitioner takes
// (Murmur2(key) & 0x7fffffff) % partitions; see HashPartition.
func Murmur2(data []byte) int32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	n := len(data)
	h := seed ^ uint32(n)
	i := 0
	for ; i+4 <= n; i += 4 {
		k := binary.LittleEndian.Uint32(data[i:])
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	// The tail falls through like Kafka's switch (case 3, 2, 1).
	switch n - i {
	case 3:
		h ^= uint32(data[i+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[i+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[i])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}
