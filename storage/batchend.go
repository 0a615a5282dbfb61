package storage

// BatchEnd is the offset after the last record of a stored batch (its base
// offset plus its record count), read from the batch's header without
// touching its records or checking its CRC: a follower uses it to know
// where a batch it is about to append leaves its log. A raw slice that is
// not a well-framed batch gives an error wrapping ErrCorrupt.
func BatchEnd(raw []byte) (int64, error) {
	h, err := parseHeader(raw)
	if err != nil {
		return 0, err
	}
	return h.end(), nil
}
