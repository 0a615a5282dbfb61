package wire

import (
	"fmt"
	"net/http"
)

// Code names an API error. It is stable: clients act on it, so a code is
// never renamed, only added. The message beside it is for people.
type Code string

// The error codes. Each has exactly one HTTP status (see Code.HTTPStatus).
const (
	// CodeInvalidRequest: malformed JSON or binary body, a missing or bad
	// parameter, an unsupported media type. 400.
	CodeInvalidRequest Code = "invalid_request"
	// CodeInvalidConfig: an unknown topic configuration key or a bad value. 400.
	CodeInvalidConfig Code = "invalid_config"
	// CodeNotFound: no such route (not an unknown topic: that is
	// CodeUnknownTopic). 404.
	CodeNotFound Code = "not_found"
	// CodeMethodNotAllowed: the route exists but not with this method. 405.
	CodeMethodNotAllowed Code = "method_not_allowed"
	// CodeUnknownTopic: the topic does not exist. 404.
	CodeUnknownTopic Code = "unknown_topic"
	// CodeUnknownPartition: the topic has no partition with that index. 404.
	CodeUnknownPartition Code = "unknown_partition"
	// CodeTopicExists: a topic with that name already exists. 409.
	CodeTopicExists Code = "topic_exists"
	// CodeRecordTooLarge: a record (or the request) is larger than
	// max.message.bytes (or the server's request limit); nothing was
	// written. 413.
	CodeRecordTooLarge Code = "record_too_large"
	// CodeOffsetOutOfRange: a fetch below the log start or past the log end.
	// Details carry LogStart and LogEnd. 416.
	CodeOffsetOutOfRange Code = "offset_out_of_range"
	// CodeNotLeader: this broker does not lead the partition. Details carry
	// the leader's id and HTTP address when known. 503; retry there.
	CodeNotLeader Code = "not_leader"
	// CodeNotEnoughReplicas: acks=all and the ISR is smaller than
	// min.insync.replicas; nothing was written. 503; retriable.
	CodeNotEnoughReplicas Code = "not_enough_replicas"
	// CodeNotController: a metadata change reached a node that cannot reach
	// the active controller. Details carry the controller when known. 503.
	CodeNotController Code = "not_controller"
	// CodeTimeout: the request's timeout_ms passed before it completed (for
	// acks=all: the records may still be committed later). 504.
	CodeTimeout Code = "timeout"
	// CodeUnknownPlugin: no plugin (or plugin version) with that name. 404.
	CodeUnknownPlugin Code = "unknown_plugin"
	// CodeInvalidPlugin: the module failed validation (does not compile,
	// wrong exports, forbidden imports, unknown ABI version, too large). 400.
	CodeInvalidPlugin Code = "invalid_plugin"
	// CodePluginInUse: the plugin (version) is used by a topic and cannot be
	// deleted. 409.
	CodePluginInUse Code = "plugin_in_use"
	// CodePluginFailed: the plugin trapped, ran out of time or memory, or
	// returned malformed output; nothing was written. Details name the
	// plugin. 422.
	CodePluginFailed Code = "plugin_failed"
	// CodeUnknownGroup: no consumer group with that name. 404.
	CodeUnknownGroup Code = "unknown_group"
	// CodeGroupNotEmpty: the operation needs a group without members. 409.
	CodeGroupNotEmpty Code = "group_not_empty"
	// CodeUnavailable: the node cannot answer yet, and nothing was done:
	// its metadata has not caught up since it started (it does not know
	// yet whether a topic exists), or the partition leader it forwards to
	// cannot be reached. 503; retriable, after refreshing metadata.
	CodeUnavailable Code = "unavailable"
	// CodeOutOfOrderSequence: an idempotent producer's request cannot be
	// placed: its sequence is older than what the partition leader
	// remembers of the producer, overlaps a written request, reuses a
	// sequence with other records, or its producer epoch is stale.
	// Nothing was written. 409; not retriable (the producer must start a
	// new id or epoch).
	CodeOutOfOrderSequence Code = "out_of_order_sequence"
	// CodeForbidden: the caller may not do this. On the client plane: the
	// principal is not allowed the operation on the resource (an ACL denies
	// it or none allows it), or a browser request failed the origin or
	// content-type checks. On the node-to-node plane: a request that does
	// not come from a node, or asks what its node may not ask. 403.
	CodeForbidden Code = "forbidden"
	// CodeInternal: a bug or an unexpected failure on the server. 500.
	CodeInternal Code = "internal"
	// CodeRequestTimeout: the request body did not arrive within the
	// node's body read timeout; the connection is closed. 408.
	CodeRequestTimeout Code = "request_timeout"
	// CodeOverloaded: the node holds as many request body bytes as its
	// in-flight limit allows; retry later (Retry-After says when). 503.
	CodeOverloaded Code = "overloaded"
	// CodeQuotaExceeded: the change would pass a node or cluster limit
	// (partitions per node, file descriptors, plugin versions or bytes);
	// nothing was changed. 409.
	CodeQuotaExceeded Code = "quota_exceeded"
	// CodeUnauthenticated: the request carries no credential, or one the
	// server does not accept (unknown or revoked token). 401.
	CodeUnauthenticated Code = "unauthenticated"
	// CodePrincipalExists: a user or service account of that name exists. 409.
	CodePrincipalExists Code = "principal_exists"
	// CodeUnknownPrincipal: no user, service account, token or ACL with that
	// name or id. 404.
	CodeUnknownPrincipal Code = "unknown_principal"
	// CodeUnknownBroker: no registered broker (or controller) with that
	// node id. 404.
	CodeUnknownBroker Code = "unknown_broker"
)

var codeStatus = map[Code]int{
	CodeInvalidRequest:     http.StatusBadRequest,
	CodeInvalidConfig:      http.StatusBadRequest,
	CodeNotFound:           http.StatusNotFound,
	CodeMethodNotAllowed:   http.StatusMethodNotAllowed,
	CodeUnknownTopic:       http.StatusNotFound,
	CodeUnknownPartition:   http.StatusNotFound,
	CodeTopicExists:        http.StatusConflict,
	CodeRecordTooLarge:     http.StatusRequestEntityTooLarge,
	CodeOffsetOutOfRange:   http.StatusRequestedRangeNotSatisfiable,
	CodeNotLeader:          http.StatusServiceUnavailable,
	CodeNotEnoughReplicas:  http.StatusServiceUnavailable,
	CodeNotController:      http.StatusServiceUnavailable,
	CodeTimeout:            http.StatusGatewayTimeout,
	CodeUnknownPlugin:      http.StatusNotFound,
	CodeInvalidPlugin:      http.StatusBadRequest,
	CodePluginInUse:        http.StatusConflict,
	CodePluginFailed:       http.StatusUnprocessableEntity,
	CodeUnknownGroup:       http.StatusNotFound,
	CodeGroupNotEmpty:      http.StatusConflict,
	CodeUnavailable:        http.StatusServiceUnavailable,
	CodeOutOfOrderSequence: http.StatusConflict,
	CodeForbidden:          http.StatusForbidden,
	CodeRequestTimeout:     http.StatusRequestTimeout,
	CodeOverloaded:         http.StatusServiceUnavailable,
	CodeQuotaExceeded:      http.StatusConflict,
	CodeUnauthenticated:    http.StatusUnauthorized,
	CodePrincipalExists:    http.StatusConflict,
	CodeUnknownPrincipal:   http.StatusNotFound,
	CodeUnknownBroker:      http.StatusNotFound,
	CodeInternal:           http.StatusInternalServerError,
}

// Codes returns every defined code, for tests and documentation.
func Codes() []Code {
	out := make([]Code, 0, len(codeStatus))
	for c := range codeStatus {
		out = append(out, c)
	}
	return out
}

// HTTPStatus is the status a response carrying this code has. An unknown
// code maps to 500.
func (c Code) HTTPStatus() int {
	if s, ok := codeStatus[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Retriable reports whether the same request may succeed if sent again
// (possibly to another node, after refreshing metadata), without the
// caller changing anything. Of these, CodeTimeout alone may have written
// the records: retrying a produce after it duplicates them unless the
// producer is idempotent (see NothingWritten).
func (c Code) Retriable() bool {
	switch c {
	case CodeNotLeader, CodeNotEnoughReplicas, CodeNotController, CodeTimeout, CodeUnavailable, CodeOverloaded:
		return true
	}
	return false
}

// NothingWritten reports whether a produce request that failed as a
// whole with this code certainly wrote nothing, so that even a producer
// without idempotence may send it again without duplicating records. (As
// a per-record result, not_enough_replicas may follow an append that
// reached the high watermark only after the ISR shrank.)
func (c Code) NothingWritten() bool {
	switch c {
	case CodeNotLeader, CodeNotEnoughReplicas, CodeNotController, CodeUnavailable, CodeOverloaded:
		return true
	}
	return false
}

// Error is the body of every failed response, inside ErrorResponse, and the
// per-record error in a produce answer. It implements error so a server can
// return it through its layers unchanged.
type Error struct {
	Code    Code          `json:"code"`
	Message string        `json:"message"`
	Details *ErrorDetails `json:"details,omitempty"`
}

// Error returns "code: message".
func (e *Error) Error() string {
	if e.Message == "" {
		return string(e.Code)
	}
	return string(e.Code) + ": " + e.Message
}

// Errorf builds an Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorDetails carry the machine-readable facts a client acts on. Only the
// fields that fit the code are set.
type ErrorDetails struct {
	// LeaderID and LeaderAddr name the partition leader (not_leader) or the
	// active controller (not_controller). LeaderAddr is a base URL such as
	// "http://10.0.0.2:8080". LeaderID is -1 when the leader is unknown.
	LeaderID    *int32 `json:"leader_id,omitempty"`
	LeaderAddr  string `json:"leader_addr,omitempty"`
	LeaderEpoch *int32 `json:"leader_epoch,omitempty"`
	// LogStart and LogEnd bound the valid offsets (offset_out_of_range).
	LogStart *int64 `json:"log_start,omitempty"`
	LogEnd   *int64 `json:"log_end,omitempty"`
	// Plugin names the plugin and version ("name@3") for plugin_* codes.
	Plugin string `json:"plugin,omitempty"`
	// Index is the position of the offending record in a produce request,
	// for record_too_large and invalid_request about one record.
	Index *int `json:"index,omitempty"`
}

// ErrorResponse is the JSON body of every non-2xx answer:
// {"error":{"code":"unknown_topic","message":"..."}}.
type ErrorResponse struct {
	Error *Error `json:"error"`
}

// Ptr returns a pointer to v; convenient for ErrorDetails fields.
func Ptr[T any](v T) *T { return &v }
