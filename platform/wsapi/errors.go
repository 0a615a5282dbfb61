package wsapi

import (
	"context"
	"errors"

	"github.com/gorilla/websocket"
	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/groups"
	"github.com/sluicehq/sluice/sdk/wire"
)

// Errors of this package that map to API codes.
var (
	// ErrUnknownProcessor: the processor plugin does not exist.
	ErrUnknownProcessor = errors.New("unknown processor")
	// ErrProcessorFailed: the processor failed on a batch.
	ErrProcessorFailed = errors.New("processor failed")
	// errBadRequest marks malformed parameters or client messages.
	errBadRequest = errors.New("bad request")
	// errMalformed marks a client frame that cannot be parsed.
	errMalformed = errors.New("malformed message")
)

var codeTable = []struct {
	err  error
	code wire.Code
}{
	{groups.ErrUnknownTopic, wire.CodeUnknownTopic},
	{broker.ErrUnknownTopic, wire.CodeUnknownTopic},
	{broker.ErrUnknownPartition, wire.CodeUnknownPartition},
	{broker.ErrNotLeader, wire.CodeNotLeader},
	{broker.ErrNotEnoughReplicas, wire.CodeNotEnoughReplicas},
	{broker.ErrRecordTooLarge, wire.CodeRecordTooLarge},
	{broker.ErrOffsetOutOfRange, wire.CodeOffsetOutOfRange},
	{broker.ErrTimeout, wire.CodeTimeout},
	{broker.ErrPartitioner, wire.CodePluginFailed},
	{broker.ErrInvalidRequest, wire.CodeInvalidRequest},
	{broker.ErrClosed, wire.CodeShuttingDown},
	{groups.ErrUnknownGroup, wire.CodeUnknownGroup},
	{groups.ErrGroupNotEmpty, wire.CodeGroupNotEmpty},
	{groups.ErrUnknownMember, wire.CodeUnknownMember},
	{groups.ErrFencedGeneration, wire.CodeFencedGeneration},
	{groups.ErrInconsistentAssignor, wire.CodeInvalidRequest},
	{groups.ErrUnknownAssignor, wire.CodeInvalidRequest},
	{groups.ErrInvalidRequest, wire.CodeInvalidRequest},
	{groups.ErrOffsetOutOfRange, wire.CodeOffsetOutOfRange},
	{groups.ErrNotStarted, wire.CodeTimeout},
	{groups.ErrClosed, wire.CodeShuttingDown},
	{groups.ErrNotCoordinator, wire.CodeNotLeader},
	{groups.ErrNoLeader, wire.CodeNotLeader},
	{groups.ErrNoCoordinator, wire.CodeNotLeader},
	{ErrUnknownProcessor, wire.CodeUnknownPlugin},
	{ErrProcessorFailed, wire.CodePluginFailed},
	{errBadRequest, wire.CodeInvalidRequest},
	{errMalformed, wire.CodeInvalidRequest},
	{wire.ErrMalformed, wire.CodeInvalidRequest},
	{context.DeadlineExceeded, wire.CodeTimeout},
}

// toWire maps an error to its API error: Config.ErrorCode first, then the
// table; anything else is internal.
func (h *Handler) toWire(err error) *wire.Error {
	var we *wire.Error
	if errors.As(err, &we) {
		return we
	}
	out := &wire.Error{Code: wire.CodeInternal, Message: err.Error()}
	for _, m := range codeTable {
		if errors.Is(err, m.err) {
			out.Code = m.code
			break
		}
	}
	if out.Code == wire.CodeInternal && h.cfg.ErrorCode != nil {
		if c := h.cfg.ErrorCode(err); c != "" {
			out.Code = wire.Code(c)
		}
	}
	return out
}

// closeCode is the WebSocket close status that goes with an error code.
func closeCode(c wire.Code) int {
	switch c {
	case wire.CodeInternal, wire.CodePluginFailed:
		return websocket.CloseInternalServerErr
	case wire.CodeShuttingDown:
		return websocket.CloseGoingAway
	}
	return websocket.ClosePolicyViolation
}
