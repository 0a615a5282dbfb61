package sdk

import "fmt"

// FieldPartitioner partitions records by a JSON field of their value, the
// way Kafka's default partitioner would partition records keyed by the
// field's text: (Murmur2(text) & 0x7fffffff) % partitions, where text is a
// string field's unescaped contents or a number's literal (jsonscan.Text).
// The host computes it natively over the whole batch, reading the records
// where it holds them (the host function
// sluice.partition_call_by_json_field, docs/plugin-abi.md section 12), so
// the module spends no Wasm time per record on it and, with the default
// Missing or MissingKeysOnly, is not even sent the values: only records
// without the field are decoded and handed to Missing.
type FieldPartitioner struct {
	// Path is the field, dotted for nested objects ("customer.id"). Set it
	// before the first batch, typically from a parameter in an OnInit
	// function. An empty Path fails every batch.
	Path string
	// Missing partitions a record whose value is not a JSON object with
	// the field. Nil: Kafka's hash of the record key, or round-robin for a
	// record without a key. A panic in it fails the batch with its message.
	// A Missing of your own gets every field of the record, unless
	// MissingKeysOnly is set.
	Missing PartitionFunc
	// MissingKeysOnly: Missing reads only records' keys, offsets and
	// timestamps, so the host sends the module keys only (it answers
	// sluice_partition_fields 0) and a batch's values are never copied
	// into it, which for large records is most of a call's cost; Missing
	// then sees an empty Value and no Headers. The default Missing reads
	// only keys, so without a Missing of your own the host sends keys only
	// anyway. Set it before the instance starts: in an init function, not
	// in OnInit (the host asks before sluice_init).
	MissingKeysOnly bool

	roundRobin int
}

var fieldPart *FieldPartitioner

// HandleFieldPartition registers p as the module's partitioner (instead of
// HandlePartition). Call it once, from an init function.
func HandleFieldPartition(p *FieldPartitioner) { fieldPart = p }

// defaultMissing is Missing's default.
func (p *FieldPartitioner) defaultMissing(r Record, partitions int) int {
	if r.Key != nil {
		return KafkaPartition(r.Key, partitions)
	}
	p.roundRobin++
	return p.roundRobin % partitions
}

// handleFieldPartition is handlePartition for a FieldPartitioner.
func handleFieldPartition(in []byte, partitions int) (res []byte) {
	p := fieldPart
	if p.Path == "" {
		return errorResult("sdk.FieldPartitioner: no Path set (set it in an OnInit function)")
	}
	count, recs, err := batchHeader(in)
	if err != nil {
		return errorResult(err.Error())
	}
	out = append(out[:0], make([]byte, 8+4*count)...)
	le.PutUint32(out[4:], count)
	if n := hostPartitionCallByJSONField(p.Path, out[8:]); n != int32(count) {
		return errorResult(fmt.Sprintf("host function sluice.partition_call_by_json_field(%q) failed with %d", p.Path, n))
	}
	res = out
	missing := p.Missing
	if missing == nil {
		missing = p.defaultMissing
	}
	defer recoverResult(&res)
	var r Record
	at := 0 // the index of the record recs starts at: records are walked only up to one without the field
	for i := range int(count) {
		if int32(le.Uint32(res[8+4*i:])) >= 0 {
			continue
		}
		recs = skipRecords(recs, i-at)
		at = i + 1
		if recs, err = decodeRecord(recs, &r); err != nil {
			return errorResult(fmt.Sprintf("record %d: %v", i, err))
		}
		part := missing(r, partitions)
		if part < 0 || part >= partitions {
			return errorResult(fmt.Sprintf("FieldPartitioner.Missing returned %d for record %d; want [0, %d)", part, i, partitions))
		}
		le.PutUint32(res[8+4*i:], uint32(int32(part)))
	}
	return res
}

// skipRecords returns recs after its first n records (or nil if shorter).
func skipRecords(recs []byte, n int) []byte {
	for range n {
		if len(recs) < 4 {
			return nil
		}
		size := int(le.Uint32(recs)) + 4
		if size > len(recs) {
			return nil
		}
		recs = recs[size:]
	}
	return recs
}

// partitionFields is what the module answers sluice_partition_fields:
// for a FieldPartitioner, keys only (0) with the default Missing or
// MissingKeysOnly, else everything; for a partition function, what
// PartitionReads declared (everything by default).
func partitionFields() Fields {
	switch {
	case fieldPart == nil:
		return partitionReads
	case fieldPart.Missing == nil || fieldPart.MissingKeysOnly:
		return 0
	}
	return Values | Headers
}
