package e2e_test

import (
	"testing"

	"github.com/sluicehq/sluice/partitioner"
)

// TestFieldPartitionConstantsAreTheServersHash pins the partitions the sdk
// module's fieldpart tests expect (that module cannot import the server's
// partitioner) to what the server's partitioner computes for the same keys.
func TestFieldPartitionConstantsAreTheServersHash(t *testing.T) {
	for _, c := range []struct {
		key  string
		n    int
		want int32
	}{{"c-42", 12, 0}, {"7", 12, 3}, {"nested", 5, 2}} {
		if got := partitioner.HashPartition([]byte(c.key), c.n); got != c.want {
			t.Errorf("HashPartition(%q, %d) = %d, sdk/fieldpart's tests expect %d", c.key, c.n, got, c.want)
		}
	}
}
