package controller

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"reflect"
	"strings"

	"github.com/sluicehq/sluice/platform/meta"
)

// ErrCorruptMetadata: a raft log entry or a metadata snapshot failed its
// checksum or does not decode strictly. The controller refuses to apply it
// (see fsm.Apply and fsm.Restore).
var ErrCorruptMetadata = errors.New("corrupt metadata")

// Raft entries written by this code are enveloped:
//
//	byte 0     entryMagic (0xC5: never the first byte of JSON)
//	byte 1     envelope version (1)
//	bytes 2-5  CRC-32C (Castagnoli), big-endian, of the payload
//	bytes 6-   the payload: the meta.Command as JSON (meta.Command.Encode)
//
// Entries written before envelopes existed start with '{'. They are
// accepted only if they decode strictly (see decodeCommandStrict): known
// fields only, nothing after the object, a known op with exactly its own
// payload set. A flipped bit that still leaves valid JSON of the right
// shape (a changed letter in a name) cannot be told from the original in
// such an entry; every entry written since is covered by its CRC.
const (
	entryMagic      = 0xC5
	entryVersion    = 1
	entryHeaderSize = 6
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeEntry encodes cmd for the raft log, enveloped.
func encodeEntry(cmd meta.Command) ([]byte, error) {
	payload, err := cmd.Encode()
	if err != nil {
		return nil, err
	}
	out := make([]byte, entryHeaderSize, entryHeaderSize+len(payload))
	out[0], out[1] = entryMagic, entryVersion
	binary.BigEndian.PutUint32(out[2:], crc32.Checksum(payload, castagnoli))
	return append(out, payload...), nil
}

// decodeEntry checks and decodes a raft entry's data. Every failure wraps
// ErrCorruptMetadata.
func decodeEntry(data []byte) (meta.Command, error) {
	switch {
	case len(data) == 0:
		return meta.Command{}, fmt.Errorf("%w: empty entry", ErrCorruptMetadata)
	case data[0] == entryMagic:
		if len(data) < entryHeaderSize {
			return meta.Command{}, fmt.Errorf("%w: envelope of %d bytes", ErrCorruptMetadata, len(data))
		}
		if data[1] != entryVersion {
			return meta.Command{}, fmt.Errorf("%w: envelope version %d, this build reads %d", ErrCorruptMetadata, data[1], entryVersion)
		}
		payload := data[entryHeaderSize:]
		if got, want := crc32.Checksum(payload, castagnoli), binary.BigEndian.Uint32(data[2:]); got != want {
			return meta.Command{}, fmt.Errorf("%w: CRC-32C %08x, envelope says %08x", ErrCorruptMetadata, got, want)
		}
		return decodeCommandStrict(payload)
	case data[0] == '{':
		return decodeCommandStrict(data) // written before envelopes
	default:
		return meta.Command{}, fmt.Errorf("%w: entry starts with byte %#x", ErrCorruptMetadata, data[0])
	}
}

// decodeCommandStrict decodes a command and checks its shape: only known
// fields, no trailing data, a known op whose payload (and no other) is set.
func decodeCommandStrict(b []byte) (meta.Command, error) {
	var cmd meta.Command
	if err := decodeStrict(b, &cmd); err != nil {
		return meta.Command{}, fmt.Errorf("%w: command: %w", ErrCorruptMetadata, err)
	}
	if err := checkCommandShape(cmd); err != nil {
		return meta.Command{}, fmt.Errorf("%w: %s command: %w", ErrCorruptMetadata, cmd.Op, err)
	}
	return cmd, nil
}

// decodeStrict unmarshals one JSON value into v, refusing unknown fields
// and anything but whitespace after it.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON value")
	}
	return nil
}

// checkCommandShape: a command carries at most one payload, and if a
// payload field is named after its op (the convention of meta.Command:
// op "create_topic", field CreateTopic *CreateTopic `json:"create_topic"`)
// that one is set. Payloads are the pointer fields named after their own
// type. It works by reflection so that ops added to meta.Command later
// (following the convention) are covered too, and fields that are not
// payloads are left alone.
func checkCommandShape(c meta.Command) error {
	v := reflect.ValueOf(c)
	typ := v.Type()
	var set []string
	ownField := false
	for i := range typ.NumField() {
		f := typ.Field(i)
		// Payloads are the fields named after their own type
		// (CreateTopic *CreateTopic); other fields are not counted.
		if f.Type.Kind() != reflect.Pointer || f.Type.Elem().Name() != f.Name {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == string(c.Op) {
			ownField = true
			if v.Field(i).IsNil() {
				return errors.New("its payload is missing")
			}
		}
		if !v.Field(i).IsNil() {
			set = append(set, name)
		}
	}
	if c.Op == "" {
		return errors.New("no op")
	}
	if len(set) > 1 || (ownField && len(set) != 1) {
		return fmt.Errorf("carries payloads %v", set)
	}
	return nil
}
