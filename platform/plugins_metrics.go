package platform

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/plugins"
)

// pluginMetrics are the per-plugin Prometheus metrics of a node, fed by
// plugins.Config.OnCall:
//
//	sluice_plugin_calls_total{plugin,version,kind,result}   counter
//	sluice_plugin_call_duration_seconds{plugin,version,kind} histogram
//	sluice_plugin_call_wait_seconds{plugin,version,kind}     histogram
//
// result is "ok" or a plugins.FailureReason ("timeout", "memory",
// "bad_output", "failed", "backed_off", "cancelled"). A call is one batch
// into the plugin (a produce request may make several). Calls that never
// ran (backed off, abandoned) count in calls_total only.
type pluginMetrics struct {
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	wait     *prometheus.HistogramVec
}

func newPluginMetrics() *pluginMetrics {
	labels := []string{"plugin", "version", "kind"}
	return &pluginMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_plugin_calls_total",
			Help: "Calls into Wasm plugins (one batch each) on this node, by plugin version and result (ok, timeout, memory, bad_output, failed, backed_off, cancelled).",
		}, append(labels, "result")),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_plugin_call_duration_seconds",
			Help:    "Time Wasm plugin calls ran on this node (excluding the wait for an instance or an execution slot).",
			Buckets: prometheus.ExponentialBuckets(50e-6, 4, 10), // 50 µs .. 13 s
		}, labels),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_plugin_call_wait_seconds",
			Help:    "Time Wasm plugin calls waited for an instance and a node execution slot before running.",
			Buckets: prometheus.ExponentialBuckets(10e-6, 4, 10), // 10 µs .. 2.6 s
		}, labels),
	}
}

// observe is the plugins.Config.OnCall hook.
func (m *pluginMetrics) observe(st plugins.CallStats) {
	v := strconv.Itoa(st.Version)
	result := plugins.FailureReason(st.Err)
	if result == "" {
		result = "ok"
	}
	m.calls.WithLabelValues(st.Plugin, v, string(st.Kind), result).Inc()
	if st.Ran {
		m.duration.WithLabelValues(st.Plugin, v, string(st.Kind)).Observe(st.Duration.Seconds())
		m.wait.WithLabelValues(st.Plugin, v, string(st.Kind)).Observe(st.Wait.Seconds())
	}
}

func (m *pluginMetrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.calls, m.duration, m.wait} {
		if err := r.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				continue
			}
			return fmt.Errorf("register plugin metrics: %w", err)
		}
	}
	return nil
}
