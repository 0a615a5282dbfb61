package sdk

import "github.com/sluicehq/sluice/sdk/fieldpart"

// Murmur2 is Kafka's 32-bit murmur2 hash (Utils.murmur2), the one its
// default partitioner uses.
func Murmur2(data []byte) int32 { return fieldpart.Murmur2(data) }

// KafkaPartition is the partition Kafka's default partitioner gives key:
// (Murmur2(key) & 0x7fffffff) % partitions. So a plugin that hashes a field
// with it sends records where Kafka would send records with that key.
func KafkaPartition(key []byte, partitions int) int {
	return int(Murmur2(key)&0x7fffffff) % partitions
}
