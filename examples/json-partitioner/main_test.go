package main

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/sdk"
)

func TestRoutesByField(t *testing.T) {
	recs := []sdk.Record{
		{Value: []byte(`{"order":1,"customer_id":"c-42"}`)},
		{Value: []byte(`{"customer_id":"c-42","order":2}`), Key: []byte("other")},
		{Value: []byte(`{"customer_id":7}`)},
		{Value: []byte(`not json`), Key: []byte("k")},
	}
	parts, err := sdk.LocalPartition(map[string]string{"field": "customer_id"}, recs, 6)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{sdk.KafkaPartition([]byte("c-42"), 6), sdk.KafkaPartition([]byte("c-42"), 6),
		sdk.KafkaPartition([]byte("7"), 6), sdk.KafkaPartition([]byte("k"), 6)}
	for i := range want {
		if parts[i] != want[i] {
			t.Errorf("record %d: partition %d, want %d", i, parts[i], want[i])
		}
	}
}

func TestNestedFieldAndMissingPolicies(t *testing.T) {
	recs := []sdk.Record{{Value: []byte(`{"customer":{"id":"c-1"}}`)}, {Value: []byte(`{}`)}}
	parts, err := sdk.LocalPartition(map[string]string{"field": "customer.id", "missing": "5"}, recs, 6)
	if err != nil {
		t.Fatal(err)
	}
	if parts[0] != sdk.KafkaPartition([]byte("c-1"), 6) || parts[1] != 5 {
		t.Errorf("parts = %v", parts)
	}
	_, err = sdk.LocalPartition(map[string]string{"field": "customer.id", "missing": "error"}, recs, 6)
	if err == nil || !strings.Contains(err.Error(), `no JSON field "customer.id"`) {
		t.Errorf("missing=error: err = %v", err)
	}
	if _, err := sdk.LocalPartition(map[string]string{}, recs, 6); err == nil || !strings.Contains(err.Error(), "field") {
		t.Errorf("no field parameter: err = %v", err)
	}
}
