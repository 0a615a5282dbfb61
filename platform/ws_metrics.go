package platform

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/wsapi"
	"github.com/sluicehq/sluice/record"
)

// wsCounters count the records WebSocket clients produce and the records
// fetched for WebSocket consumers (the HTTP counters see neither).
type wsCounters struct {
	produced *prometheus.CounterVec
	fetched  *prometheus.CounterVec
}

func newWSCounters(reg prometheus.Registerer) (*wsCounters, error) {
	c := &wsCounters{
		produced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_ws_produce_records_total",
			Help: "Records WebSocket producers wrote through this node, by topic (counted once: not again on a leader they were forwarded to).",
		}, []string{"topic"}),
		fetched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_ws_fetch_records_total",
			Help: "Records fetched for WebSocket consumers served by this node, by topic (before a processor plugin).",
		}, []string{"topic"}),
	}
	for _, m := range []prometheus.Collector{c.produced, c.fetched} {
		if err := reg.Register(m); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// countWS wraps the WebSocket handler's broker with the counters (b
// unchanged when there are none).
func (n *Node) countWS(b wsapi.Broker) wsapi.Broker {
	if n.wsm == nil {
		return b
	}
	cb := countingWSBroker{Broker: b, m: n.wsm}
	if ib, ok := b.(wsapi.IdempotentBroker); ok {
		return countingIdemWSBroker{countingWSBroker: cb, idem: ib}
	}
	return cb
}

type countingWSBroker struct {
	wsapi.Broker
	m *wsCounters
}

func (b countingWSBroker) Produce(ctx context.Context, topic string, recs []record.Record, acks string) ([]wsapi.ProduceResult, error) {
	res, err := b.Broker.Produce(ctx, topic, recs, acks)
	b.m.countProduced(topic, res, err)
	return res, err
}

func (b countingWSBroker) Fetch(ctx context.Context, req wsapi.FetchRequest) (wsapi.FetchResult, error) {
	res, err := b.Broker.Fetch(ctx, req)
	if err == nil {
		n := 0
		for i := range res.Records {
			if res.Records[i].Offset >= req.Offset { // whole batches may start before it
				n++
			}
		}
		if n > 0 {
			b.m.fetched.WithLabelValues(req.Topic).Add(float64(n))
		}
	}
	return res, err
}

// countingIdemWSBroker keeps the idempotent produce of a broker that has it.
type countingIdemWSBroker struct {
	countingWSBroker
	idem wsapi.IdempotentBroker
}

func (b countingIdemWSBroker) ProduceIdempotent(ctx context.Context, topic string, recs []record.Record, acks string, prod broker.Producer) ([]wsapi.ProduceResult, error) {
	res, err := b.idem.ProduceIdempotent(ctx, topic, recs, acks, prod)
	b.m.countProduced(topic, res, err)
	return res, err
}

func (c *wsCounters) countProduced(topic string, res []wsapi.ProduceResult, err error) {
	if err != nil {
		return
	}
	ok := 0
	for _, r := range res {
		if r.Err == nil {
			ok++
		}
	}
	if ok > 0 {
		c.produced.WithLabelValues(topic).Add(float64(ok))
	}
}
