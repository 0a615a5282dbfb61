// Package jsonscan finds values in JSON documents without decoding them:
// no reflection, no maps, no allocation on the lookup path. It is meant for
// plugins, which look at one or two fields of every record and must stay
// cheap per record. It does not validate the parts of a document it skips;
// use encoding/json when you need a full decode or strict validation.
package jsonscan

import (
	"encoding/binary"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Get returns the raw JSON of the value at path: each path element is an
// object key, descending into nested objects ("customer", "id" finds
// {"customer":{"id":...}}). ok is false if a key is missing, a level is not
// an object, or the document is malformed on the way. The result aliases
// doc. With no path it returns doc's top-level value, trimmed.
func Get(doc []byte, path ...string) (raw []byte, ok bool) {
	if len(path) == 1 { // the common case, without Find's loop (calls are dear in Wasm)
		i := 0
		for i < len(doc) && doc[i] <= ' ' {
			i++
		}
		s, e, ok := findKey(doc, i, path[0])
		if !ok {
			return nil, false
		}
		return doc[s:e], true
	}
	s, e, ok := Find(doc, path...)
	if !ok {
		return nil, false
	}
	return doc[s:e], true
}

// Find is Get returning the value's bounds in doc, for splicing (see Set).
func Find(doc []byte, path ...string) (start, end int, ok bool) {
	start = skipWS(doc, 0)
	if len(path) == 0 {
		end, ok = skipValue(doc, start)
		return start, end, ok
	}
	// Only the members up to the one looked for are scanned, so a field
	// near the front of a large document is found cheaply.
	for _, key := range path {
		start, end, ok = findKey(doc, start, key)
		if !ok {
			return 0, 0, false
		}
	}
	return start, end, true
}

// Set returns a copy of doc with the value at path replaced by raw (which
// must be valid JSON, e.g. `"***"` or `null`). ok is false if the path does
// not exist; doc is then returned unchanged.
func Set(doc []byte, raw []byte, path ...string) ([]byte, bool) {
	s, e, ok := Find(doc, path...)
	if !ok || len(path) == 0 {
		return doc, false
	}
	out := make([]byte, 0, len(doc)-(e-s)+len(raw))
	out = append(out, doc[:s]...)
	out = append(out, raw...)
	return append(out, doc[e:]...), true
}

// Text returns the text of a raw JSON value: the unescaped contents of a
// string, or the literal itself for numbers, true, false and null. Objects
// and arrays are returned as they are. It allocates only for strings with
// escapes.
func Text(raw []byte) []byte {
	n := len(raw)
	if n < 2 || raw[0] != '"' || raw[n-1] != '"' {
		return raw
	}
	for _, c := range raw[1 : n-1] {
		if c == '\\' {
			if s, ok := Unquote(raw); ok {
				return s
			}
			return raw
		}
	}
	return raw[1 : n-1]
}

// Equal reports whether the raw JSON value's Text is s.
func Equal(raw []byte, s string) bool {
	return string(Text(raw)) == s
}

// Unquote returns the contents of a JSON string with escapes resolved.
// Without escapes the result aliases raw.
func Unquote(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	body := raw[1 : len(raw)-1]
	plain := true
	for _, c := range body {
		if c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		return body, true
	}
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(body) {
			return nil, false
		}
		switch body[i] {
		case '"', '\\', '/':
			out = append(out, body[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(body, i+1)
			if !ok {
				return nil, false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(body, i+3); ok && i+2 < len(body) && body[i+1] == '\\' && body[i+2] == 'u' {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						i += 6
					}
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, false
		}
	}
	return out, true
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[i:i+4]), 16, 16)
	return rune(v), err == nil
}

// Each calls fn with the raw JSON of every element of the array arr, in
// order, until fn returns false. It reports whether arr was a well-formed
// array as far as it was read.
func Each(arr []byte, fn func(elem []byte) bool) bool {
	i := skipWS(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return false
	}
	i = skipWS(arr, i+1)
	if i < len(arr) && arr[i] == ']' {
		return true
	}
	for i < len(arr) {
		e, ok := skipValue(arr, i)
		if !ok {
			return false
		}
		if !fn(arr[i:e]) {
			return true
		}
		i = skipWS(arr, e)
		if i >= len(arr) {
			return false
		}
		switch arr[i] {
		case ',':
			i = skipWS(arr, i+1)
		case ']':
			return true
		default:
			return false
		}
	}
	return false
}

// The scanning functions below avoid helper calls inside their loops: a
// function call costs tens of nanoseconds in Go's Wasm code, more than the
// scanning itself.

// findKey looks for key among the members of the object starting at i.
// Whitespace is any byte up to ' ' (the others there are invalid JSON
// anyway), which costs one comparison per byte.
func findKey(b []byte, i int, key string) (int, int, bool) {
	n := len(b)
	if i >= n || b[i] != '{' {
		return 0, 0, false
	}
	kl := len(key)
	// The quick match (the key's bytes, then a quote) is exact unless the
	// key ends in a backslash, which would escape that quote.
	quick := kl == 0 || key[kl-1] != '\\'
	i++
	for {
		for i < n && b[i] <= ' ' {
			i++
		}
		if i >= n || b[i] != '"' {
			return 0, 0, false // '}' (not found) or malformed
		}
		ks := i + 1
		match := quick && ks+kl < n && b[ks+kl] == '"' && string(b[ks:ks+kl]) == key
		if match {
			i = ks + kl + 1
		} else {
			ke, ok := stringEnd(b, i)
			if !ok {
				return 0, 0, false
			}
			// An escaped spelling is longer than the key it spells.
			match = ke-ks-1 > kl && keyIs(b[i:ke], key)
			i = ke
		}
		for i < n && b[i] <= ' ' {
			i++
		}
		if i >= n || b[i] != ':' {
			return 0, 0, false
		}
		i++
		for i < n && b[i] <= ' ' {
			i++
		}
		vs := i
		ve, ok := skipValue(b, i)
		if !ok {
			return 0, 0, false
		}
		if match {
			return vs, ve, true
		}
		i = ve
		for i < n && b[i] <= ' ' {
			i++
		}
		if i >= n || b[i] != ',' {
			return 0, 0, false
		}
		i++
	}
}

// keyIs compares a quoted member name that has escapes with key.
func keyIs(quoted []byte, key string) bool {
	u, ok := Unquote(quoted)
	return ok && string(u) == key
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the closing quote of the string that
// starts at b[i] == '"'. It steps 8 bytes at a time while a word holds no
// quote and no backslash (a loop iteration costs ~10 ns in Go's Wasm code,
// so fewer iterations matter more than fewer instructions).
func stringEnd(b []byte, i int) (int, bool) {
	const (
		ones   = 0x0101010101010101
		highs  = 0x8080808080808080
		quotes = '"' * ones
		slashs = '\\' * ones
	)
	j := i + 1
	for {
		for j+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[j:])
			q, s := w^quotes, w^slashs
			if ((q-ones)&^q|(s-ones)&^s)&highs != 0 {
				break
			}
			j += 8
		}
		for ; j < len(b); j++ {
			if c := b[j]; c == '"' {
				return j + 1, true
			} else if c == '\\' {
				j++
				break
			}
		}
		if j >= len(b) {
			return 0, false
		}
		j++ // past the escaped byte
	}
}

// skipValue returns the index after the value that starts at b[i].
func skipValue(b []byte, i int) (int, bool) {
	n := len(b)
	if i >= n {
		return 0, false
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < n; j++ {
			switch b[j] {
			case '"':
				e, ok := stringEnd(b, j)
				if !ok {
					return 0, false
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	default:
		j := i
		for j < n {
			if c := b[j]; c <= ' ' || c == ',' || c == '}' || c == ']' {
				break
			}
			j++
		}
		if j == i {
			return 0, false
		}
		return j, true
	}
}
