// Package wsapi serves Sluice's WebSocket endpoints and the consumer group
// admin routes:
//
//	GET    /v1/topics/{topic}/consume        WebSocket: credit-based consume, groups, processors
//	GET    /v1/topics/{topic}/produce        WebSocket: pipelined, ordered produce
//	GET    /v1/groups                        list groups
//	GET    /v1/groups/{group}                describe a group
//	POST   /v1/groups/{group}/reset-offsets  reset committed offsets (empty group only)
//	DELETE /v1/groups/{group}                delete a group's offsets (empty group only)
//
// docs/websocket.md describes the protocol message by message.
//
// A consume connection is served by one goroutine that owns all of its
// state (credit, assignment, buffered records) and is the only writer of
// data frames; a reader goroutine turns client frames into messages, and
// one fetch goroutine per served partition long-polls the broker and runs
// the processor. The records a connection holds (fetched, not yet sent) are
// bounded by Config.MaxBufferedBytes whatever the backlog: a partition is
// fetched only while there is budget, and only as much as the budget
// allows.
package wsapi
