package broker

import "testing"

// TestParseAcksDefaultIsAll: a request that names no acks gets acks=all,
// the default of the HTTP and WebSocket APIs, the Go client and the CLI
// (and of Kafka's producer since 3.0).
func TestParseAcksDefaultIsAll(t *testing.T) {
	got, err := ParseAcks("")
	if err != nil || got != AcksAll || DefaultAcks != AcksAll {
		t.Fatalf("ParseAcks(\"\") = %v, %v (DefaultAcks %v); want all", got, err, DefaultAcks)
	}
}
