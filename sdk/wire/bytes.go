package wire

import (
	"encoding/base64"
	"fmt"
	"unicode/utf8"
)

// Encodings of byte strings inside JSON.
const (
	// EncodingText: the string is the bytes (must be valid UTF-8).
	EncodingText = "text"
	// EncodingBase64: the string is standard base64 (RFC 4648, padded).
	EncodingBase64 = "base64"
)

// EncodeBytes turns b into a JSON string and names the encoding used: text
// when b is valid UTF-8 and forceBase64 is false, base64 otherwise.
func EncodeBytes(b []byte, forceBase64 bool) (s, encoding string) {
	if !forceBase64 && utf8.Valid(b) {
		return string(b), EncodingText
	}
	return base64.StdEncoding.EncodeToString(b), EncodingBase64
}

// DecodeBytes reverses EncodeBytes. An empty encoding means text.
func DecodeBytes(s, encoding string) ([]byte, error) {
	switch encoding {
	case "", EncodingText:
		return []byte(s), nil
	case EncodingBase64:
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("decode base64: %w", err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("unknown encoding %q (want %q or %q)", encoding, EncodingText, EncodingBase64)
}

// Record is a record as the binary codec and the Go client see it: raw
// bytes, no encodings. Offset and Partition are set on fetched records and
// ignored in produce requests. Key == nil means "no key", which differs
// from an empty key.
type Record struct {
	Partition int32
	Offset    int64
	// Timestamp in ms since the Unix epoch; 0 in a produce request means
	// "stamp it on append".
	Timestamp int64
	Key       []byte
	Value     []byte
	Headers   []Header
}

// Header is one record header. Keys may repeat; order is kept.
type Header struct {
	Key   string
	Value []byte
}

// JSONHeader is a header in a JSON body. Encoding applies to Value; empty
// means text.
type JSONHeader struct {
	Key      string `json:"key"`
	Value    string `json:"value"`
	Encoding string `json:"encoding,omitempty"`
}

func encodeHeaders(hs []Header, forceBase64 bool) []JSONHeader {
	if len(hs) == 0 {
		return nil
	}
	out := make([]JSONHeader, len(hs))
	for i, h := range hs {
		v, enc := EncodeBytes(h.Value, forceBase64)
		if enc == EncodingText {
			enc = ""
		}
		out[i] = JSONHeader{Key: h.Key, Value: v, Encoding: enc}
	}
	return out
}

func decodeHeaders(hs []JSONHeader) ([]Header, error) {
	if len(hs) == 0 {
		return nil, nil
	}
	out := make([]Header, len(hs))
	for i, h := range hs {
		v, err := DecodeBytes(h.Value, h.Encoding)
		if err != nil {
			return nil, fmt.Errorf("header %d (%q): %w", i, h.Key, err)
		}
		out[i] = Header{Key: h.Key, Value: v}
	}
	return out, nil
}
