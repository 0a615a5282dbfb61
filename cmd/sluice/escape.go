package main

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// appendSafe appends b for a terminal: printable UTF-8 as is, and every
// other byte escaped so that a binary value cannot move the cursor, ring,
// change colours or split one record over several lines: \n \r \t as
// such, other control characters and invalid UTF-8 as \xNN, and non-ASCII
// control or format runes (U+0085, U+202E, ...) as \u{...}. A backslash
// is written as is, so text reads naturally; `consume --raw` prints the
// bytes unchanged and `--format json` keeps them exactly.
func appendSafe(dst, b []byte) []byte {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && size <= 1:
			dst = fmt.Appendf(dst, `\x%02x`, b[0])
		case r == '\n':
			dst = append(dst, `\n`...)
		case r == '\r':
			dst = append(dst, `\r`...)
		case r == '\t':
			dst = append(dst, `\t`...)
		case r < 0x20 || r == 0x7f:
			dst = fmt.Appendf(dst, `\x%02x`, r)
		case r >= 0x80 && !unicode.IsPrint(r) && r != ' ':
			dst = fmt.Appendf(dst, `\u{%x}`, r)
		default:
			dst = append(dst, b[:size]...)
		}
		b = b[size:]
	}
	return dst
}
