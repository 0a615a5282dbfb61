package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/sdk/client"
)

// fmtPart is one piece of a --format template: literal text, or the
// field named by verb (k v p o t h K V).
type fmtPart struct {
	lit  string
	verb byte
}

// parseFormat reads a kcat -f-like template: %k key, %v value, %p
// partition, %o offset, %t timestamp (ms since the epoch), %h headers
// (k=v,k=v), %K and %V key and value lengths (-1 for no key), %% a
// percent sign; \n, \t, \r and \\ are escapes. Nothing is added at the end
// of a record: end the template with \n for one record per line.
func parseFormat(s string) ([]fmtPart, error) {
	var parts []fmtPart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, fmtPart{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			if i+1 == len(s) {
				return nil, usagef("--format %q: a %% at the end (write %%%% for a percent sign)", s)
			}
			i++
			switch v := s[i]; v {
			case '%':
				lit.WriteByte('%')
			case 'k', 'v', 'p', 'o', 't', 'h', 'K', 'V':
				flush()
				parts = append(parts, fmtPart{verb: v})
			default:
				return nil, usagef("--format %q: unknown %%%c (want %%k %%v %%p %%o %%t %%h %%K %%V %%%%, or text or json)", s, v)
			}
		case '\\':
			if i+1 == len(s) {
				lit.WriteByte('\\')
				continue
			}
			i++
			switch e := s[i]; e {
			case 'n':
				lit.WriteByte('\n')
			case 't':
				lit.WriteByte('\t')
			case 'r':
				lit.WriteByte('\r')
			case '\\':
				lit.WriteByte('\\')
			default:
				lit.WriteByte('\\')
				lit.WriteByte(e)
			}
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	if len(parts) == 0 {
		return nil, usagef("--format %q: want text, json or a template with %%v, %%k, ...", s)
	}
	return parts, nil
}

// template appends r formatted by p.tmpl to dst.
func (p *recordPrinter) template(dst []byte, r *client.Record) []byte {
	for _, f := range p.tmpl {
		switch f.verb {
		case 0:
			dst = append(dst, f.lit...)
		case 'k':
			dst = p.text(dst, r.Key)
		case 'v':
			dst = p.text(dst, r.Value)
		case 'p':
			dst = strconv.AppendInt(dst, int64(r.Partition), 10)
		case 'o':
			dst = strconv.AppendInt(dst, r.Offset, 10)
		case 't':
			dst = strconv.AppendInt(dst, r.Timestamp, 10)
		case 'K':
			if r.Key == nil {
				dst = append(dst, "-1"...)
			} else {
				dst = strconv.AppendInt(dst, int64(len(r.Key)), 10)
			}
		case 'V':
			dst = strconv.AppendInt(dst, int64(len(r.Value)), 10)
		case 'h':
			for i, h := range r.Headers {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = p.text(dst, []byte(h.Key))
				dst = append(dst, '=')
				dst = p.text(dst, h.Value)
			}
		}
	}
	return dst
}

// parseOffsets reads --offset values P=N (each flag value may hold several,
// comma-separated).
func parseOffsets(vals []string) (map[int32]int64, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	out := map[int32]int64{}
	for _, v := range vals {
		for _, item := range strings.Split(v, ",") {
			ps, ns, ok := strings.Cut(strings.TrimSpace(item), "=")
			p, perr := strconv.ParseInt(ps, 10, 32)
			n, nerr := strconv.ParseInt(ns, 10, 64)
			if !ok || perr != nil || nerr != nil || p < 0 || n < 0 {
				return nil, usagef("--offset %q: want PARTITION=OFFSET, both integers >= 0", item)
			}
			if _, dup := out[int32(p)]; dup {
				return nil, usagef("--offset: partition %d given twice", p)
			}
			out[int32(p)] = n
		}
	}
	return out, nil
}

// endOffsets returns the partitions to read (parts, or every partition)
// and each one's high watermark now: where `--until end` stops.
func endOffsets(ctx context.Context, cl *client.Client, topic string, parts []int32) ([]int32, map[int32]int64, error) {
	if len(parts) == 0 {
		tp, err := cl.DescribeTopic(ctx, topic)
		if err != nil {
			return nil, nil, fmt.Errorf("consume %s: %w", topic, err)
		}
		for i := int32(0); i < tp.PartitionCount; i++ {
			parts = append(parts, i)
		}
	}
	ends := make(map[int32]int64, len(parts))
	for _, p := range parts {
		e, err := cl.Offset(ctx, topic, p, "latest")
		if err != nil {
			return nil, nil, err
		}
		ends[p] = e
	}
	return parts, ends, nil
}

// untilTracker is `--until end`: which partitions still have records
// below the end they had at the start. The zero value (no --until) wants
// every record and never finishes.
type untilTracker struct {
	ends    map[int32]int64 // nil: no --until
	pending map[int32]bool
}

func newUntilTracker(ends, starts map[int32]int64) untilTracker {
	t := untilTracker{ends: ends, pending: map[int32]bool{}}
	for p, e := range ends {
		if starts[p] < e {
			t.pending[p] = true
		}
	}
	return t
}

// wants reports whether the record at partition/offset is before the end.
func (t *untilTracker) wants(p int32, off int64) bool {
	if t.ends == nil {
		return true
	}
	return off < t.ends[p]
}

// advance notes that partition p has been read up to next.
func (t *untilTracker) advance(p int32, next int64) {
	if t.ends != nil && next >= t.ends[p] {
		delete(t.pending, p)
	}
}

func (t *untilTracker) finished() bool { return t.ends != nil && len(t.pending) == 0 }
