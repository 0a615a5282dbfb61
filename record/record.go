// Package record holds the one in-memory record type that the server's
// packages share: storage appends it, partitioners route it, plugins
// transform it and the broker serves it. It has no dependencies, so every
// server package can use it without converting on the hot path.
package record

// Header is one record header. Keys may repeat; order is kept.
type Header struct {
	Key   string
	Value []byte
}

// Record is a key/value pair with headers and a timestamp.
//
// Offset is meaningful only for records read back from a partition log;
// Append assigns it and ignores the value a caller sets. Timestamp is in
// milliseconds since the Unix epoch; zero means "stamp it on append".
type Record struct {
	Offset    int64
	Timestamp int64
	Key       []byte // nil means "no key", which differs from an empty key
	Value     []byte
	Headers   []Header
}

// Size is the number of payload bytes the record carries (key, value and
// headers). Limits such as max.message.bytes are checked against it.
func (r *Record) Size() int {
	n := len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}
