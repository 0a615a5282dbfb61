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

	"github.com/sluicehq/sluice/sdk"
)

// byField is the partitioner: the host hashes the field over the whole
// batch natively (sdk.FieldPartitioner); only records without it reach
// missing.
var byField = &sdk.FieldPartitioner{}

var (
	onMissing  = "key"
	fixed      int
	roundRobin int
)

func init() {
	byField.Missing = missing
	byField.MissingKeysOnly = true // missing reads keys only: values are not sent
	sdk.OnInit(setup)
	sdk.HandleFieldPartition(byField)
}

func setup() error {
	field, err := sdk.RequireParam("field")
	if err != nil {
		return err
	}
	byField.Path = field
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

func missing(r sdk.Record, partitions int) int {
	switch onMissing {
	case "error":
		panic(fmt.Errorf("%w %q (offset %d)", errNoField, byField.Path, r.Offset))
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
