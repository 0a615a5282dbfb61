package partitioner

import "github.com/sluicehq/sluice/sdk/fieldpart"

// Murmur2 is the 32-bit MurmurHash2 of data exactly as Kafka's
// org.apache.kafka.common.utils.Utils.murmur2 computes it (seed 0x9747b28c),
// including its signed result. Kafka's default partitioner takes
// (Murmur2(key) & 0x7fffffff) % partitions; see HashPartition.
func Murmur2(data []byte) int32 { return fieldpart.Murmur2(data) }
