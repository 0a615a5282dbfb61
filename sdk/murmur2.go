package sdk

// Murmur2 is Kafka's 32-bit murmur2 hash (Utils.murmur2), the one its
// default partitioner uses.
func Murmur2(data []byte) int32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
	)
	n := len(data)
	h := seed ^ uint32(n)
	i := 0
	for ; i+4 <= n; i += 4 {
		k := le.Uint32(data[i:])
		k *= m
		k ^= k >> 24
		k *= m
		h *= m
		h ^= k
	}
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

// KafkaPartition is the partition Kafka's default partitioner gives key:
// (Murmur2(key) & 0x7fffffff) % partitions. So a plugin that hashes a field
// with it sends records where Kafka would send records with that key.
func KafkaPartition(key []byte, partitions int) int {
	return int(Murmur2(key)&0x7fffffff) % partitions
}
