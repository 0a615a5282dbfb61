package wire

import (
	"encoding/binary"
	"fmt"
)

// Binary frames of the WebSocket API (format=binary).
//
// Server to client (consume): one binary frame per records batch, the same
// bytes as a binary fetch answer (AppendFetchBatch / DecodeFetchBatch): the
// partition, next_offset, high watermark, log start, log end and the records
// with their offsets. Control messages stay JSON text frames.
//
// Client to server (produce): a binary frame is one batch,
//
//	seq      varint
//	records  a produce request body (AppendRecords)

// AppendWSProduce appends a binary produce frame to dst.
func AppendWSProduce(dst []byte, seq int64, recs []Record) []byte {
	dst = binary.AppendVarint(dst, seq)
	return AppendRecords(dst, recs)
}

// DecodeWSProduce reads a binary produce frame. Records alias b.
func DecodeWSProduce(b []byte) (seq int64, recs []Record, err error) {
	seq, n := binary.Varint(b)
	if n <= 0 {
		return 0, nil, fmt.Errorf("%w: websocket produce frame: bad sequence number", ErrMalformed)
	}
	recs, err = DecodeRecords(b[n:])
	if err != nil {
		return seq, nil, fmt.Errorf("websocket produce frame %d: %w", seq, err)
	}
	return seq, recs, nil
}
