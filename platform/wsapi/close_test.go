package wsapi_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluicehq/sluice/sdk/client"
)

// TestCloseReturnsAfterLeave checks the guarantee scripts rely on
// (`sluice consume --group G --max N; sluice group reset-offsets G`): once
// WSConsumer.Close returns, the server has removed the member, so the
// group describes as empty at once. Before the fix the server echoed the
// close frame inside ReadMessage and left the group only afterwards.
func TestCloseReturnsAfterLeave(t *testing.T) {
	e := startEnv(t, nil)
	e.createTopic(t, "cycles", 2)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i := range 50 {
		c, err := e.cl.ConsumeWS(ctx, client.WSConsumerConfig{Topic: "cycles", Group: "g", From: "earliest"})
		if err != nil {
			t.Fatalf("cycle %d: consume: %v", i, err)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("cycle %d: close: %v", i, err)
		}
		g, err := e.cl.DescribeGroup(ctx, "g")
		if errors.Is(err, client.ErrUnknownGroup) {
			continue // a group without members and offsets is gone: fine
		}
		if err != nil {
			t.Fatalf("cycle %d: describe: %v", i, err)
		}
		if len(g.Members) != 0 {
			t.Fatalf("cycle %d: Close returned but the group still has members %+v", i, g.Members)
		}
	}
}
