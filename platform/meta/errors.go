package meta

import "errors"

// Errors that callers act on. Apply wraps them with detail; test with errors.Is.
var (
	// ErrTopicExists: CreateTopic named a topic that already exists.
	ErrTopicExists = errors.New("topic already exists")
	// ErrUnknownTopic: the command names a topic that does not exist.
	ErrUnknownTopic = errors.New("unknown topic")
	// ErrUnknownPartition: the topic exists but has no such partition.
	ErrUnknownPartition = errors.New("unknown partition")
	// ErrUnknownBroker: the command names a broker that was never registered.
	ErrUnknownBroker = errors.New("unknown broker")
	// ErrInvalidConfig: a topic configuration key or value is not acceptable.
	ErrInvalidConfig = errors.New("invalid topic configuration")
	// ErrNotEnoughBrokers: fewer alive brokers than the replication factor.
	ErrNotEnoughBrokers = errors.New("not enough alive brokers")
	// ErrStaleEpoch: an AlterPartition carried a leader or partition epoch (or
	// leader) that is no longer current; the proposer must refresh metadata.
	ErrStaleEpoch = errors.New("stale leader or partition epoch")
	// ErrUnknownPlugin: no such plugin, or no such version of it.
	ErrUnknownPlugin = errors.New("unknown plugin")
	// ErrPluginInUse: a topic's partitioner references the plugin version.
	ErrPluginInUse = errors.New("plugin in use")
	// ErrInvalidRequest: the command is malformed (bad name, bad ISR, unknown op...).
	ErrInvalidRequest = errors.New("invalid request")
	// ErrPrincipalExists: CreatePrincipal named an existing principal.
	ErrPrincipalExists = errors.New("principal already exists")
	// ErrUnknownPrincipal: no such principal, or no such token of it.
	ErrUnknownPrincipal = errors.New("unknown principal")
	// ErrUnknownACL: RemoveACL named no entry.
	ErrUnknownACL = errors.New("unknown acl")
)
