package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/sluicehq/sluice/sdk/wire"
)

// writeJSON writes v as the JSON answer with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value written here is a wire type; failing to encode
		// one is a bug.
		b, _ = json.Marshal(wire.ErrorResponse{Error: wire.Errorf(wire.CodeInternal, "encode answer: %v", err)})
		status = http.StatusInternalServerError
	}
	writeBody(w, status, wire.MediaTypeJSON, b)
}

func writeBody(w http.ResponseWriter, status int, contentType string, b []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// readJSON decodes a JSON request body of at most limit bytes into v. A
// field v does not have is refused (invalid_request naming it): a
// misspelt field must not silently fall back to a default.
func readJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	body := http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		var we *wire.Error
		if errors.As(err, &tooBig) || errors.As(err, &we) {
			return err // too large, too slow, or over the in-flight limit
		}
		if errors.Is(err, io.EOF) {
			return badRequest("empty body: want a JSON object")
		}
		return jsonBodyError(err)
	}
	if dec.More() {
		return badRequest("malformed JSON body: more than one value")
	}
	return nil
}

// unmarshalStrict is json.Unmarshal refusing unknown fields, with
// readJSON's errors.
func unmarshalStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return badRequest("empty body: want a JSON object")
		}
		return jsonBodyError(err)
	}
	if dec.More() {
		return badRequest("malformed JSON body: more than one value")
	}
	return nil
}

// jsonBodyError is the invalid_request answer to a body encoding/json
// refused; an unknown field is named as such.
func jsonBodyError(err error) error {
	// encoding/json has no typed error for unknown fields; its message is
	// `json: unknown field "name"`.
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return badRequest("unknown field %s in the JSON body", f)
	}
	return badRequest("malformed JSON body: %v", err)
}

// buffers recycles request and answer bodies of the produce and fetch
// paths, so a steady stream of requests allocates no new body memory.
var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// maxPooledBuffer keeps rare huge bodies from pinning memory in the pool.
const maxPooledBuffer = 16 << 20

func getBuffer() *[]byte { return buffers.Get().(*[]byte) }

func putBuffer(b *[]byte) {
	if cap(*b) > maxPooledBuffer {
		return
	}
	*b = (*b)[:0]
	buffers.Put(b)
}

// readBody reads the whole body (at most limit bytes) into buf. The
// buffer grows as bytes arrive, never from the announced Content-Length: a
// client announcing 64 MiB and sending nothing costs no memory (only the
// announcement over the limit is refused at once).
func readBody(w http.ResponseWriter, r *http.Request, limit int64, buf []byte) ([]byte, error) {
	if r.ContentLength > limit {
		return buf, &http.MaxBytesError{Limit: limit}
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
