package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluicehq/sluice/sdk/wire"
)

// Named errors, one per API error code. Every error the server reports is an
// *APIError that matches one of these with errors.Is.
var (
	ErrInvalidRequest    = errors.New("invalid request")
	ErrInvalidConfig     = errors.New("invalid configuration")
	ErrNotFound          = errors.New("not found")
	ErrUnknownTopic      = errors.New("unknown topic")
	ErrUnknownPartition  = errors.New("unknown partition")
	ErrTopicExists       = errors.New("topic exists")
	ErrRecordTooLarge    = errors.New("record too large")
	ErrOffsetOutOfRange  = errors.New("offset out of range")
	ErrNotLeader         = errors.New("not leader")
	ErrNotEnoughReplicas = errors.New("not enough replicas")
	ErrNotController     = errors.New("not controller")
	ErrTimeout           = errors.New("timeout")
	ErrUnknownPlugin     = errors.New("unknown plugin")
	ErrInvalidPlugin     = errors.New("invalid plugin")
	ErrPluginInUse       = errors.New("plugin in use")
	ErrPluginFailed      = errors.New("plugin failed")
	ErrUnknownGroup      = errors.New("unknown group")
	ErrGroupNotEmpty     = errors.New("group not empty")
	ErrForbidden         = errors.New("forbidden")
	ErrInternal          = errors.New("internal server error")
	// ErrOutOfOrderSequence: an idempotent request the broker cannot
	// place (older than what it remembers of the producer, overlapping a
	// written request); nothing was written; not retriable.
	ErrOutOfOrderSequence = errors.New("out of order sequence")
	ErrRequestTimeout     = errors.New("request body timed out")
	ErrOverloaded         = errors.New("server overloaded")
	ErrQuotaExceeded      = errors.New("quota exceeded")
	ErrUnauthenticated    = errors.New("unauthenticated")
	ErrPrincipalExists    = errors.New("principal exists")
	ErrUnknownPrincipal   = errors.New("unknown principal")
	ErrUnknownBroker      = errors.New("unknown broker")

	// ErrUnavailable wraps a failure to connect to the node, and matches
	// the code unavailable (a node that cannot answer yet; retriable).
	ErrUnavailable = errors.New("server unavailable")
	// ErrClosed is returned by a Producer or Consumer used after Close.
	ErrClosed = errors.New("closed")
)

var codeErrors = map[wire.Code]error{
	wire.CodeInvalidRequest:     ErrInvalidRequest,
	wire.CodeInvalidConfig:      ErrInvalidConfig,
	wire.CodeNotFound:           ErrNotFound,
	wire.CodeMethodNotAllowed:   ErrInvalidRequest,
	wire.CodeUnknownTopic:       ErrUnknownTopic,
	wire.CodeUnknownPartition:   ErrUnknownPartition,
	wire.CodeTopicExists:        ErrTopicExists,
	wire.CodeRecordTooLarge:     ErrRecordTooLarge,
	wire.CodeOffsetOutOfRange:   ErrOffsetOutOfRange,
	wire.CodeNotLeader:          ErrNotLeader,
	wire.CodeNotEnoughReplicas:  ErrNotEnoughReplicas,
	wire.CodeNotController:      ErrNotController,
	wire.CodeTimeout:            ErrTimeout,
	wire.CodeUnknownPlugin:      ErrUnknownPlugin,
	wire.CodeInvalidPlugin:      ErrInvalidPlugin,
	wire.CodePluginInUse:        ErrPluginInUse,
	wire.CodePluginFailed:       ErrPluginFailed,
	wire.CodeUnknownGroup:       ErrUnknownGroup,
	wire.CodeGroupNotEmpty:      ErrGroupNotEmpty,
	wire.CodeForbidden:          ErrForbidden,
	wire.CodeRequestTimeout:     ErrRequestTimeout,
	wire.CodeOverloaded:         ErrOverloaded,
	wire.CodeQuotaExceeded:      ErrQuotaExceeded,
	wire.CodeUnauthenticated:    ErrUnauthenticated,
	wire.CodePrincipalExists:    ErrPrincipalExists,
	wire.CodeUnknownPrincipal:   ErrUnknownPrincipal,
	wire.CodeUnknownBroker:      ErrUnknownBroker,
	wire.CodeInternal:           ErrInternal,
	wire.CodeUnavailable:        ErrUnavailable,
	wire.CodeOutOfOrderSequence: ErrOutOfOrderSequence,
}

// APIError is an error answer from the server. errors.Is matches it against
// the named error of its code (ErrUnknownTopic, ...); errors.As gives access
// to the code and details (leader hint, log bounds).
type APIError struct {
	// Status is the HTTP status; 0 for a per-record produce error.
	Status  int
	Code    wire.Code
	Message string
	Details *wire.ErrorDetails
	// RetryAfter is the server's Retry-After (a backed-off plugin, an
	// overloaded node): retries of this client wait at least this long.
	// 0 if it sent none.
	RetryAfter time.Duration
}

// Error returns the server's message, which names the problem for people.
func (e *APIError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return strings.ReplaceAll(string(e.Code), "_", " ")
}

// Is matches the named error of the code.
func (e *APIError) Is(target error) bool {
	if s, ok := codeErrors[e.Code]; ok && s == target {
		return true
	}
	return false
}

// Retriable reports whether the same call may succeed later or elsewhere.
func (e *APIError) Retriable() bool { return e.Code.Retriable() }

// fromWire turns a wire error into an *APIError.
func fromWire(status int, we *wire.Error) *APIError {
	return &APIError{Status: status, Code: we.Code, Message: we.Message, Details: we.Details}
}

// decodeError reads a non-2xx answer. A body that is not the error JSON
// (a proxy's page, say) still gives a useful error from the status.
func decodeError(method, path string, status int, body []byte) error {
	var er wire.ErrorResponse
	if err := json.Unmarshal(body, &er); err == nil && er.Error != nil && er.Error.Code != "" {
		return fromWire(status, er.Error)
	}
	code := wire.CodeInternal
	switch {
	case status == 404:
		code = wire.CodeNotFound
	case status == 413:
		code = wire.CodeRecordTooLarge
	case status == 504:
		code = wire.CodeTimeout
	case status >= 400 && status < 500:
		code = wire.CodeInvalidRequest
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return &APIError{Status: status, Code: code, Message: fmt.Sprintf("%s %s: HTTP %d: %s", method, path, status, msg)}
}
