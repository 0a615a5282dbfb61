package controller

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/sluicehq/sluice/platform/meta"
)

// A metadata snapshot is enveloped:
//
//	bytes 0-4   snapshotMagic "SLMS" and the envelope version (1)
//	body        the meta.Cluster as JSON
//	trailer     8 bytes: body length, big-endian; 4 bytes: CRC-32C of the body
//
// The trailer comes last so Persist can stream the body. Restore refuses a
// snapshot whose length or CRC does not match, or whose body does not
// decode strictly (unknown fields, trailing data). A snapshot written
// before envelopes existed starts with '{' and is accepted if it decodes
// strictly. raft's file snapshot store also keeps a CRC-64 of each file;
// the envelope covers the bytes end to end, through InstallSnapshot too.
var snapshotMagic = []byte{'S', 'L', 'M', 'S', 1}

const snapshotTrailerSize = 12

// writeSnapshot writes c to w in the envelope.
func writeSnapshot(w io.Writer, c *meta.Cluster) error {
	bw := bufio.NewWriter(w)
	if _, err := bw.Write(snapshotMagic); err != nil {
		return err
	}
	h := crc32.New(castagnoli)
	n := &countingWriter{}
	if err := json.NewEncoder(io.MultiWriter(bw, h, n)).Encode(c); err != nil {
		return err
	}
	var tr [snapshotTrailerSize]byte
	binary.BigEndian.PutUint64(tr[:8], uint64(n.n))
	binary.BigEndian.PutUint32(tr[8:], h.Sum32())
	if _, err := bw.Write(tr[:]); err != nil {
		return err
	}
	return bw.Flush()
}

// readSnapshot reads and checks a snapshot. Every failure of the bytes
// wraps ErrCorruptMetadata.
func readSnapshot(r io.Reader) (*meta.Cluster, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	var body []byte
	switch {
	case bytes.HasPrefix(data, snapshotMagic[:4]):
		if len(data) < len(snapshotMagic)+snapshotTrailerSize {
			return nil, fmt.Errorf("%w: snapshot of %d bytes", ErrCorruptMetadata, len(data))
		}
		if v := data[4]; v != snapshotMagic[4] {
			return nil, fmt.Errorf("%w: snapshot envelope version %d, this build reads %d", ErrCorruptMetadata, v, snapshotMagic[4])
		}
		body = data[len(snapshotMagic) : len(data)-snapshotTrailerSize]
		tr := data[len(data)-snapshotTrailerSize:]
		if n := binary.BigEndian.Uint64(tr[:8]); n != uint64(len(body)) {
			return nil, fmt.Errorf("%w: snapshot body of %d bytes, trailer says %d (truncated?)", ErrCorruptMetadata, len(body), n)
		}
		if got, want := crc32.Checksum(body, castagnoli), binary.BigEndian.Uint32(tr[8:]); got != want {
			return nil, fmt.Errorf("%w: snapshot CRC-32C %08x, trailer says %08x", ErrCorruptMetadata, got, want)
		}
	case len(bytes.TrimLeft(data, " \t\r\n")) > 0 && bytes.TrimLeft(data, " \t\r\n")[0] == '{':
		body = data // written before envelopes
	default:
		return nil, fmt.Errorf("%w: snapshot of %d bytes is neither enveloped nor JSON", ErrCorruptMetadata, len(data))
	}
	c := meta.NewCluster()
	if err := decodeStrict(body, c); err != nil {
		return nil, fmt.Errorf("%w: snapshot: %w", ErrCorruptMetadata, err)
	}
	if c.Brokers == nil {
		c.Brokers = map[meta.NodeID]*meta.Broker{}
	}
	if c.Topics == nil {
		c.Topics = map[string]*meta.Topic{}
	}
	if c.Plugins == nil {
		c.Plugins = map[string]*meta.Plugin{}
	}
	return c, nil
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}
