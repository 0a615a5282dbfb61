package sdk

import (
	"errors"
	"fmt"
)

// Output is a record a processor emitted, with the offset of the input
// record it came from.
type Output struct {
	Record
	SourceOffset int64
}

// localBatch and localPartitions are the running LocalPartition call's
// records, as the host holds them, and partition count (read by the off-Wasm
// host functions).
var (
	localBatch      []Record
	localPartitions int
)

// LocalPartition runs the registered partition function over recs exactly
// as the host would (parameters through OnInit, the batch through the ABI
// encoding), without Wasm. For plugin unit tests with plain `go test`.
func LocalPartition(p map[string]string, recs []Record, partitions int) ([]int, error) {
	// The host asks which fields to send before sluice_init (OnInit).
	f := partitionFields()
	if err := localInit(p); err != nil {
		return nil, err
	}
	if partitions < 1 {
		return nil, fmt.Errorf("partitions must be at least 1, got %d", partitions)
	}
	// What the host sends: keys only when the module says so
	// (sluice_partition_fields); its host functions see every field.
	sent := recs
	if f != Values|Headers {
		sent = make([]Record, len(recs))
		for i, r := range recs {
			sent[i] = Record{Offset: r.Offset, Timestamp: r.Timestamp, Key: r.Key}
			if f&Values != 0 {
				sent[i].Value = r.Value
			}
			if f&Headers != 0 {
				sent[i].Headers = r.Headers
			}
		}
	}
	localBatch, localPartitions = recs, partitions
	body, err := localResult(handlePartition(encodeBatch(sent), partitions))
	localBatch = nil
	if err != nil {
		return nil, err
	}
	parts := make([]int, len(recs))
	for i := range parts {
		parts[i] = int(int32(le.Uint32(body[4+4*i:])))
	}
	return parts, nil
}

// LocalProcess runs the registered process function over recs (read from
// partition) exactly as the host would, without Wasm. Give the records
// distinct, increasing offsets, as a partition's records have.
func LocalProcess(p map[string]string, partition int32, recs []Record) ([]Output, error) {
	if err := localInit(p); err != nil {
		return nil, err
	}
	body, err := localResult(handleProcess(encodeBatch(recs), partition))
	if err != nil {
		return nil, err
	}
	n := le.Uint32(body)
	rest := body[4:]
	outs := make([]Output, n)
	for i := range outs {
		if rest, err = decodeRecord(rest, &outs[i].Record); err != nil {
			return nil, fmt.Errorf("output %d: %w", i, err)
		}
		outs[i].SourceOffset = outs[i].Offset
		outs[i].Partition = partition
	}
	return outs, nil
}

func localInit(p map[string]string) error {
	enc := le.AppendUint32(nil, uint32(len(p)))
	for k, v := range p {
		enc = le.AppendUint32(enc, uint32(len(k)))
		enc = append(enc, k...)
		enc = le.AppendUint32(enc, uint32(len(v)))
		enc = append(enc, v...)
	}
	_, err := localResult(handleInit(enc))
	return err
}

// localResult copies a result out of the shared buffer and splits off its
// status.
func localResult(res []byte) ([]byte, error) {
	res = append([]byte(nil), res...)
	if le.Uint32(res) != 0 {
		return nil, errors.New(string(res[8:]))
	}
	return res[4:], nil
}

func encodeBatch(recs []Record) []byte {
	b := le.AppendUint32(nil, uint32(len(recs)))
	for i := range recs {
		b = appendRecord(b, &recs[i], recs[i].Offset)
	}
	return b
}
