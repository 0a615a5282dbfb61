// Command gohostile is a deliberately misbehaving Go plugin for the host's
// tests. The "mode" parameter picks the misbehaviour: "hog" keeps
// allocating until the memory limit, "spin" loops forever, "exit" calls
// os.Exit(3), "ok" partitions every record to 0.
package main

import (
	"fmt"
	"os"

	"github.com/sluicehq/sluice/sdk"
)

var hoard [][]byte

func init() {
	sdk.HandlePartition(func(r sdk.Record, partitions int) int {
		switch sdk.Param("mode") {
		case "hog":
			for {
				hoard = append(hoard, make([]byte, 1<<20))
			}
		case "spin":
			n := 0
			for {
				n++
			}
		case "exit":
			fmt.Fprintln(os.Stderr, "giving up")
			os.Exit(3)
		}
		return 0
	})
}

func main() {}
