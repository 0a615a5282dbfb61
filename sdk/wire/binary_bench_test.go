package wire

import "testing"

func benchRecords(n, size int) []Record {
	recs := make([]Record, n)
	val := make([]byte, size)
	for i := range recs {
		recs[i] = Record{Key: []byte("customer-42"), Value: val, Timestamp: 1_764_085_200_000,
			Headers: []Header{{Key: "source", Value: []byte("bench")}}}
	}
	return recs
}

// BenchmarkAppendRecords encodes a produce body of 1,000 1 KiB records.
func BenchmarkAppendRecords(b *testing.B) {
	recs := benchRecords(1000, 1024)
	buf := AppendRecords(nil, recs)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendRecords(buf[:0], recs)
	}
}

// BenchmarkDecodeRecords decodes the same body (values alias the body).
func BenchmarkDecodeRecords(b *testing.B) {
	body := AppendRecords(nil, benchRecords(1000, 1024))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRecords(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeFetchBatch decodes a binary fetch answer of 1,000 records.
func BenchmarkDecodeFetchBatch(b *testing.B) {
	recs := benchRecords(1000, 1024)
	for i := range recs {
		recs[i].Offset = int64(i)
	}
	body := AppendFetchBatch(nil, &FetchBatch{NextOffset: 1000, HighWatermark: 1000, LogEnd: 1000, Records: recs})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeFetchBatch(body); err != nil {
			b.Fatal(err)
		}
	}
}
