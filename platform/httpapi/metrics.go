package httpapi

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sluicehq/sluice/platform/broker"
)

// metrics are the API's Prometheus series. Per-topic counters are
// labelled by topic; partition state is read from the broker at scrape
// time (partitionCollector), so produce and fetch pay nothing for it.
type metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	inFlight    *prometheus.GaugeVec
	latency     *prometheus.HistogramVec
	prodRecords *prometheus.CounterVec
	prodBytes   *prometheus.CounterVec
	fetchRecs   *prometheus.CounterVec
	fetchBytes  *prometheus.CounterVec
	// fetchTime and fetchWait split an HTTP fetch's answer time into the
	// long-poll wait and the rest (reading, encoding, writing).
	fetchTime *prometheus.HistogramVec
	fetchWait *prometheus.HistogramVec
}

// Answer formats of a fetch, the format label of the fetch histograms.
const (
	fetchFormatJSON    = "json"
	fetchFormatRecords = "records"
	fetchFormatBatches = "batches"
)

// observeFetch records a fetch answered in format that started at start
// and waited (long-polled) for waited of its time.
func (m *metrics) observeFetch(format string, start time.Time, waited time.Duration) {
	total := time.Since(start)
	m.fetchTime.WithLabelValues(format).Observe(max(total-waited, 0).Seconds())
	m.fetchWait.WithLabelValues(format).Observe(waited.Seconds())
}

func newMetrics(reg *prometheus.Registry, b *broker.Broker) (*metrics, error) {
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_http_requests_in_flight",
			Help: "HTTP requests being answered now (long-polls included), by route pattern.",
		}, []string{"route"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern (fetch long-poll waits included; WebSocket sessions excluded).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		prodRecords: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_produce_records_total",
			Help: "Records of successful produce requests answered by this node, by topic (each record counted once in the cluster: not again on the leader it was forwarded to).",
		}, []string{"topic"}),
		prodBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_produce_bytes_total",
			Help: "Request body bytes of successful produce requests, by topic.",
		}, []string{"topic"}),
		fetchRecs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_fetch_records_total",
			Help: "Records returned by fetch requests, by topic.",
		}, []string{"topic"}),
		fetchBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_fetch_bytes_total",
			Help: "Answer body bytes of fetch requests, by topic.",
		}, []string{"topic"}),
		fetchTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_fetch_duration_seconds",
			Help:    "Time to answer an HTTP fetch without its long-poll wait (reading, encoding, writing), by answer format.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"format"}),
		fetchWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_fetch_wait_seconds",
			Help:    "Time an HTTP fetch waited for records (long-poll), by answer format; 0 for a fetch that found records at once.",
			Buckets: []float64{0, .001, .01, .1, .5, 1, 2.5, 5, 10, 30},
		}, []string{"format"}),
	}
	cs := []prometheus.Collector{m.requests, m.inFlight, m.latency, m.prodRecords, m.prodBytes, m.fetchRecs, m.fetchBytes, m.fetchTime, m.fetchWait}
	if b != nil {
		cs = append(cs, &partitionCollector{b: b})
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			var dup prometheus.AlreadyRegisteredError
			if !errors.As(err, &dup) {
				return nil, err
			}
		}
	}
	return m, nil
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// instrument counts and times every request of route.
func (m *metrics) instrument(route string, h http.Handler) http.Handler {
	lat := m.latency.WithLabelValues(route)
	inFlight := m.inFlight.WithLabelValues(route)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		inFlight.Inc()
		defer inFlight.Dec()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		// A WebSocket session (101) lasts as long as the client stays:
		// its length is not an answer time and would swamp the histogram.
		if sw.status != http.StatusSwitchingProtocols {
			lat.Observe(time.Since(start).Seconds())
		}
		m.requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
	})
}

// statusWriter remembers the status code. It passes Flush and Hijack
// through (long-polls and WebSocket upgrades need them) and unwraps for
// http.ResponseController.
type statusWriter struct {
	http.ResponseWriter
	status  int
	written bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.written {
		w.status, w.written = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.written = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("httpapi: response writer cannot be hijacked")
	}
	w.status, w.written = http.StatusSwitchingProtocols, true
	return h.Hijack()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// partitionCollector reports the broker's replicas at scrape time.
type partitionCollector struct{ b *broker.Broker }

var (
	descLogStart = prometheus.NewDesc("sluice_partition_log_start_offset", "First offset still held by the local replica.", []string{"topic", "partition"}, nil)
	descLogEnd   = prometheus.NewDesc("sluice_partition_log_end_offset", "Log end offset (LEO) of the local replica.", []string{"topic", "partition"}, nil)
	descHW       = prometheus.NewDesc("sluice_partition_high_watermark", "High watermark of the local replica.", []string{"topic", "partition"}, nil)
	descReplicas = prometheus.NewDesc("sluice_partition_replicas", "Local replicas by role.", []string{"role"}, nil)
)

func (c *partitionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descLogStart
	ch <- descLogEnd
	ch <- descHW
	ch <- descReplicas
}

func (c *partitionCollector) Collect(ch chan<- prometheus.Metric) {
	var leaders, followers float64
	for _, p := range c.b.Partitions(nil) {
		part := strconv.Itoa(int(p.Partition))
		ch <- prometheus.MustNewConstMetric(descLogStart, prometheus.GaugeValue, float64(p.LogStart), p.Topic, part)
		ch <- prometheus.MustNewConstMetric(descLogEnd, prometheus.GaugeValue, float64(p.LogEnd), p.Topic, part)
		ch <- prometheus.MustNewConstMetric(descHW, prometheus.GaugeValue, float64(p.HighWatermark), p.Topic, part)
		if p.Leader {
			leaders++
		} else {
			followers++
		}
	}
	ch <- prometheus.MustNewConstMetric(descReplicas, prometheus.GaugeValue, leaders, "leader")
	ch <- prometheus.MustNewConstMetric(descReplicas, prometheus.GaugeValue, followers, "follower")
}
