package wire

import (
	"encoding/binary"
	"fmt"
)

// Reader reads the primitives of the binary formats (see binary.go) from a
// body. The first error sticks and later reads return zero values, so call
// sites stay linear; Err or Finish reports it. Byte strings alias the body.
//
// The server decodes produce bodies straight into its own record type with
// a Reader; this package's decoders use it too, so both read one format
// with one piece of code.
type Reader struct {
	b   []byte
	off int
	err error
}

// NewReader returns a Reader at the start of b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Err returns the first error met, wrapping ErrMalformed.
func (d *Reader) Err() error { return d.err }

// Fail records a malformed-body error at the current position, unless one
// was recorded already.
func (d *Reader) Fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: at byte %d: %s", ErrMalformed, d.off, fmt.Sprintf(format, args...))
	}
}

// Remaining is the number of bytes not read yet.
func (d *Reader) Remaining() int { return len(d.b) - d.off }

// Byte reads one byte.
func (d *Reader) Byte() byte {
	if d.err != nil {
		return 0
	}
	if d.Remaining() < 1 {
		d.Fail("unexpected end")
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

// Version reads the version byte and checks it is BinaryVersion.
func (d *Reader) Version() {
	if v := d.Byte(); d.err == nil && v != BinaryVersion {
		d.Fail("version %d, want %d", v, BinaryVersion)
	}
}

// Uvarint reads an unsigned varint.
func (d *Reader) Uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.Fail("bad uvarint")
		return 0
	}
	d.off += n
	return v
}

// Varint reads a zig-zag signed varint.
func (d *Reader) Varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.Fail("bad varint")
		return 0
	}
	d.off += n
	return v
}

// Count reads an element count and checks it against the bytes left, given
// the smallest size of one element, so a lying count cannot make a decoder
// allocate more than the body justifies.
func (d *Reader) Count(minElem int) int {
	v := d.Uvarint()
	if d.err != nil {
		return 0
	}
	if v > uint64(d.Remaining()/minElem) {
		d.Fail("count %d exceeds what %d remaining bytes can hold", v, d.Remaining())
		return 0
	}
	return int(v)
}

// Bytes reads a length-prefixed byte string, aliasing the body; its
// capacity is clipped so an append by a later user cannot overwrite the
// body. An empty string is a non-nil empty slice.
func (d *Reader) Bytes() []byte {
	v := d.Uvarint()
	if d.err != nil {
		return nil
	}
	if v > uint64(d.Remaining()) {
		d.Fail("length %d exceeds %d remaining bytes", v, d.Remaining())
		return nil
	}
	b := d.b[d.off : d.off+int(v) : d.off+int(v)]
	d.off += int(v)
	return b
}

// Finish reports the first error, or trailing bytes after the body.
func (d *Reader) Finish() error {
	if d.err == nil && d.off != len(d.b) {
		d.Fail("%d trailing bytes", len(d.b)-d.off)
	}
	return d.err
}

// AppendBytes appends a length-prefixed byte string to dst.
func AppendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// AppendString appends a length-prefixed string to dst.
func AppendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}
