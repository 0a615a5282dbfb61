// Command json-partitioner is a Sluice partitioner plugin that routes each
// record by a field of its JSON value, so that all records of, say, one
// customer land in one partition whatever key the producer set.
//
// Parameters:
//
//	field    required; the field to route by, dotted for nested objects
//	         ("customer.id")
//	missing  what to do with a record whose value is not JSON or lacks the
//	         field: "key" (default: hash the record key like Kafka, or
//	         round-robin if it has none), "error" (fail the batch), or a
//	         partition number
//
// A field's text (a string's contents, or a number's literal) is hashed
// with Kafka's murmur2, so {"customer_id":"c-42"} goes where Kafka's default
// partitioner sends key "c-42".
package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/sdk"
	"github.com/sluicehq/sluice/sdk/jsonscan"
)

var (
	path       []string
	onMissing  = "key"
	fixed      int
	roundRobin int
)

func init() {
	sdk.OnInit(setup)
	sdk.HandlePartition(partition)
}

func setup() error {
	field, err := sdk.RequireParam("field")
	if err != nil {
		return err
	}
	path = strings.Split(field, ".")
	onMissing = "key"
	if m, ok := sdk.LookupParam("missing"); ok {
		switch m {
		case "key", "error":
			onMissing = m
		default:
			n, err := strconv.Atoi(m)
			if err != nil || n < 0 {
				return fmt.Errorf(`parameter missing=%q: want "key", "error" or a partition number`, m)
			}
			onMissing, fixed = "fixed", n
		}
	}
	return nil
}

var errNoField = errors.New("record has no JSON field")

func partition(r sdk.Record, partitions int) int {
	if v, ok := jsonscan.Get(r.Value, path...); ok {
		return sdk.KafkaPartition(jsonscan.Text(v), partitions)
	}
	switch onMissing {
	case "error":
		panic(fmt.Errorf("%w %q (offset %d)", errNoField, strings.Join(path, "."), r.Offset))
	case "fixed":
		return fixed % partitions
	}
	if r.Key != nil {
		return sdk.KafkaPartition(r.Key, partitions)
	}
	roundRobin++
	return roundRobin % partitions
}

func main() {}
