// Package stats keeps a short history of a node's own throughput and
// consumer-group lag for the web console's charts: a Sampler reads the
// node's cumulative counters every Interval and a Ring keeps the last
// Window of samples as rates (per second) and lag (records).
//
// The rules (rates from counter deltas, counter resets, the ring bound)
// are plain functions of the samples and the times given to them; the
// Sampler only adds a ticker and a lock.
package stats
