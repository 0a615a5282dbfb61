// Package chaos is Sluice's fault harness: it runs real `sluice server`
// processes on loopback, drives an acks=all workload with unique values and
// a consumer group against them, injects faults (kills, pauses, disk loss,
// damaged files, restarts, network partitions, membership changes), and
// checks the recorded history for Jepsen's queue anomalies.
//
// The checker (Check and the rule functions it runs) is plain code over a
// History; the cluster, workload and faults live in the package's tests.
// docs/testing.md says how to run the short and the long mode and what each
// checks.
package chaos
