package partitioner

import "testing"

// Vectors from Kafka's own UtilsTest.testMurmur2 (clients/src/test/java/
// org/apache/kafka/common/utils/UtilsTest.java) and the short-key values that
// Kafka's Utils.murmur2 yields (as checked by Akka's Murmur2Spec).
func TestMurmur2KafkaVectors(t *testing.T) {
	cases := []struct {
		in   []byte
		want int32
	}{
		{[]byte("21"), -973932308},
		{[]byte("foobar"), -790332482},
		{[]byte("a-little-bit-long-string"), -985981536},
		{[]byte("a-little-bit-longer-string"), -1486304829},
		{[]byte("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971},
		{[]byte{'a', 'b', 'c'}, 479470107},
		{[]byte("1"), -1993445489},
		{[]byte("12"), 126087238},
		{[]byte("123"), -267702483},
		{[]byte("1234"), -1614185708},
		{[]byte("12345"), -1188365604},
	}
	for _, c := range cases {
		if got := Murmur2(c.in); got != c.want {
			t.Errorf("Murmur2(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestHashPartitionMasksSign(t *testing.T) {
	// "21" hashes negative: the mask, not abs(), decides the partition.
	h := Murmur2([]byte("21"))
	if h >= 0 {
		t.Fatalf("test needs a negative hash, got %d", h)
	}
	for _, n := range []int{1, 3, 6, 7, 100} {
		want := int32(int(uint32(h)&0x7fffffff) % n)
		if got := HashPartition([]byte("21"), n); got != want {
			t.Errorf("HashPartition(21, %d) = %d, want %d", n, got, want)
		}
	}
}

func BenchmarkMurmur2(b *testing.B) {
	key := []byte("customer-0000012345")
	for b.Loop() {
		Murmur2(key)
	}
}
