package main

import (
	"fmt"
	"maps"

	"github.com/sluicehq/sluice/sdk/wire"
)

// keysMoveWarning is what `topic alter` prints when the alter changed how
// keys map to partitions (another partitioner, plugin version or parameter
// set); "" when it did not. A partition count change would move keys too;
// Sluice has no command that changes it.
func keysMoveWarning(before, after *wire.Topic) string {
	if before == nil || after == nil {
		return ""
	}
	if before.Partitioner == after.Partitioner && maps.Equal(before.PartitionerParams, after.PartitionerParams) {
		return ""
	}
	what := fmt.Sprintf("from %s to %s", describePartitioner(before), describePartitioner(after))
	return fmt.Sprintf("warning: topic %s: partitioner changed %s: keys of records produced from now on may go to "+
		"other partitions than before, so per-key order holds only among records produced under the same partitioner\n",
		after.Name, what)
}

func describePartitioner(t *wire.Topic) string {
	if len(t.PartitionerParams) == 0 {
		return t.Partitioner
	}
	return t.Partitioner + " (" + kvString(t.PartitionerParams) + ")"
}
