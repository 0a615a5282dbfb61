// Package sdk is the Go guest SDK for Sluice plugins: WebAssembly modules
// that partition records (decide which partition each produced record goes
// to) or process them (filter, rewrite or expand records on their way to a
// consumer). A plugin author writes one function and registers it in an
// init function; the SDK implements the ABI (docs/plugin-abi.md).
//
//	package main
//
//	import "github.com/sluicehq/sluice/sdk"
//
//	func init() {
//		sdk.HandlePartition(func(r sdk.Record, partitions int) int {
//			return len(r.Value) % partitions
//		})
//	}
//
//	func main() {}
//
// Build it with standard Go:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//
// With -buildmode=c-shared main is never called: register handlers in init.
// The handlers are ordinary Go, testable with plain `go test` through
// LocalPartition and LocalProcess, which drive them through the same ABI
// encoding the host uses. This package imports nothing from the Sluice
// server.
package sdk

import (
	"errors"
	"fmt"
)

// Header is one record header. Keys may repeat; order is kept.
type Header struct {
	Key   string
	Value []byte
}

// Record is a record as a plugin sees it. Key is nil when the record has no
// key (which differs from an empty key). For processors, Offset is the
// record's offset and Partition the partition it was read from; for
// partitioners both are zero. Timestamp is in milliseconds since the Unix
// epoch.
//
// The slices of a record passed to a handler are valid only during that
// call: copy what you keep. A Record passed to emit may alias the input.
type Record struct {
	Offset    int64
	Partition int32
	Timestamp int64
	Key       []byte
	Value     []byte
	Headers   []Header
}

// Header returns the value of the first header named key.
func (r *Record) Header(key string) ([]byte, bool) {
	for _, h := range r.Headers {
		if h.Key == key {
			return h.Value, true
		}
	}
	return nil, false
}

// PartitionFunc returns the partition, in [0, partitions), of one record.
type PartitionFunc func(r Record, partitions int) int

// ProcessFunc handles one input record: it calls emit zero times (drop),
// once (map) or several times (flat-map). Every emitted record is tied to
// this input's offset. Returning an error fails the whole batch with its
// message.
type ProcessFunc func(r Record, emit func(Record)) error

var (
	partitionFn PartitionFunc
	processFn   ProcessFunc
	initFns     []func() error
	params      = map[string]string{}
)

// HandlePartition registers the module's partition function. Call it once,
// from an init function.
func HandlePartition(fn PartitionFunc) { partitionFn = fn }

// Fields are the record fields a partition function reads besides the key,
// offset and timestamp, which it always gets (sluice_partition_fields,
// docs/plugin-abi.md section 2).
type Fields int32

const (
	Values  Fields = 1 // record values
	Headers Fields = 2 // record headers
)

// partitionReads is what PartitionReads declared: everything by default.
var partitionReads = Values | Headers

// PartitionReads declares which fields the partition function registered
// with HandlePartition reads (0: the key only). The host then sends only
// those, and the function sees the others empty: for large records, not
// copying values into the module is most of a call's saving. Without it a
// partition function gets every field. Call it from an init function.
func PartitionReads(f Fields) { partitionReads = f & (Values | Headers) }

// HandleProcess registers the module's process function. Call it once, from
// an init function.
func HandleProcess(fn ProcessFunc) { processFn = fn }

// OnInit registers fn to run once per instance after the parameters are set
// and before the first batch, e.g. to parse and check parameters. An error
// refuses the parameters: the topic or consumer that named the plugin gets
// the message.
func OnInit(fn func() error) { initFns = append(initFns, fn) }

// Param returns the parameter name, or "" if it was not given.
func Param(name string) string { return params[name] }

// LookupParam returns the parameter name and whether it was given.
func LookupParam(name string) (string, bool) {
	v, ok := params[name]
	return v, ok
}

// Params returns a copy of all parameters.
func Params() map[string]string {
	m := make(map[string]string, len(params))
	for k, v := range params {
		m[k] = v
	}
	return m
}

// ErrMissingParam is returned by RequireParam.
var ErrMissingParam = errors.New("missing parameter")

// RequireParam returns the parameter name, or an error wrapping
// ErrMissingParam that an OnInit function can return as is.
func RequireParam(name string) (string, error) {
	v, ok := params[name]
	if !ok || v == "" {
		return "", fmt.Errorf("%w %q", ErrMissingParam, name)
	}
	return v, nil
}
