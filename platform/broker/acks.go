package broker

import (
	"fmt"
	"strconv"
)

// Acks says how much replication a produce waits for before it answers.
type Acks int8

const (
	// AcksNone: the broker appends and does not wait for the high
	// watermark. The HTTP API answers such a request (202) once it is
	// validated and queued, before the append (Kafka's acks=0): failures
	// of the append are logged, never reported; requests to one topic
	// through one node keep their order.
	AcksNone Acks = 0
	// AcksLeader answers once the leader has appended the records.
	AcksLeader Acks = 1
	// AcksAll answers once the high watermark has passed the records, that
	// is once every in-sync replica has them. It fails up front with
	// ErrNotEnoughReplicas when the ISR is smaller than min.insync.replicas.
	AcksAll Acks = -1
)

// DefaultAcks is the acks of a request that names none: AcksAll, as in
// Kafka's producer since 3.0, the HTTP and WebSocket APIs, the Go client
// and the CLI.
const DefaultAcks = AcksAll

// ParseAcks reads "0", "1", "all" or "-1". The empty string is
// DefaultAcks.
func ParseAcks(s string) (Acks, error) {
	switch s {
	case "":
		return DefaultAcks, nil
	case "1":
		return AcksLeader, nil
	case "0":
		return AcksNone, nil
	case "all", "-1":
		return AcksAll, nil
	}
	return 0, fmt.Errorf("%w: acks %q: want 0, 1 or all", ErrInvalidRequest, s)
}

// String returns "0", "1" or "all".
func (a Acks) String() string {
	if a == AcksAll {
		return "all"
	}
	return strconv.Itoa(int(a))
}

// Valid reports whether a is one of the three defined values.
func (a Acks) Valid() bool { return a == AcksNone || a == AcksLeader || a == AcksAll }
