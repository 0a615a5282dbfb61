package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/sluicehq/sluice/platform/broker"
	"github.com/sluicehq/sluice/platform/clusternet"
	"github.com/sluicehq/sluice/platform/controller"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/sdk/wire"
	"github.com/sluicehq/sluice/storage"
)

// errBadRequest marks malformed input found by this package (bad JSON, a
// bad parameter).
var errBadRequest = errors.New("bad request")

// errNotReady marks an answer the node cannot give yet: it has not caught
// up with the cluster's metadata since it started.
var errNotReady = errors.New("metadata not caught up")

// notReady turns "no such topic / partition" into unavailable while the
// node is starting (its health is not ok: it has not yet applied the
// metadata the cluster has), because then it cannot know: the topic may
// exist. Any other error, and every error of a ready node, is unchanged.
func (s *Server) notReady(err error) error {
	if s.cfg.Health == nil || err == nil {
		return err
	}
	if c := toWire(err).Code; c != wire.CodeUnknownTopic && c != wire.CodeUnknownPartition {
		return err
	}
	if h := s.cfg.Health(); h != HealthOK {
		return fmt.Errorf("%w (node is %s; retry): %s", errNotReady, h, err.Error())
	}
	return err
}

// codeTable maps each sentinel to its API code. Order matters where an
// error could match two (it cannot today); the first match wins.
var codeTable = []struct {
	err  error
	code wire.Code
}{
	{broker.ErrUnknownTopic, wire.CodeUnknownTopic},
	{meta.ErrUnknownTopic, wire.CodeUnknownTopic},
	{broker.ErrUnknownPartition, wire.CodeUnknownPartition},
	{meta.ErrUnknownPartition, wire.CodeUnknownPartition},
	{broker.ErrNotLeader, wire.CodeNotLeader},
	{broker.ErrClosed, wire.CodeNotLeader},
	{storage.ErrClosed, wire.CodeNotLeader},
	{broker.ErrNotEnoughReplicas, wire.CodeNotEnoughReplicas},
	{broker.ErrOutOfOrderSequence, wire.CodeOutOfOrderSequence},
	{broker.ErrLeaderUnreachable, wire.CodeUnavailable},
	{broker.ErrForwardFailed, wire.CodeTimeout},
	{errNotReady, wire.CodeUnavailable},
	{broker.ErrRecordTooLarge, wire.CodeRecordTooLarge},
	{storage.ErrRecordTooLarge, wire.CodeRecordTooLarge},
	{storage.ErrBatchTooLarge, wire.CodeRecordTooLarge},
	{broker.ErrOffsetOutOfRange, wire.CodeOffsetOutOfRange},
	{storage.ErrOffsetOutOfRange, wire.CodeOffsetOutOfRange},
	{broker.ErrTimeout, wire.CodeTimeout},
	{context.DeadlineExceeded, wire.CodeTimeout},
	{plugins.ErrBackedOff, wire.CodeUnavailable}, // before ErrPartitioner, which wraps it
	{broker.ErrPartitioner, wire.CodePluginFailed},
	{plugins.ErrInvalidModule, wire.CodeInvalidPlugin},
	{plugins.ErrPluginFailed, wire.CodePluginFailed},
	{broker.ErrInvalidRequest, wire.CodeInvalidRequest},
	{meta.ErrInvalidRequest, wire.CodeInvalidRequest},
	{meta.ErrNotEnoughBrokers, wire.CodeNotEnoughReplicas},
	{errBadRequest, wire.CodeInvalidRequest},
	{wire.ErrMalformed, wire.CodeInvalidRequest},
	{meta.ErrInvalidConfig, wire.CodeInvalidConfig},
	{meta.ErrTopicExists, wire.CodeTopicExists},
	{meta.ErrUnknownPlugin, wire.CodeUnknownPlugin},
	{meta.ErrPluginInUse, wire.CodePluginInUse},
	{meta.ErrQuotaExceeded, wire.CodeQuotaExceeded},
	{meta.ErrPrincipalExists, wire.CodePrincipalExists},
	{meta.ErrUnknownPrincipal, wire.CodeUnknownPrincipal},
	{meta.ErrUnknownACL, wire.CodeUnknownPrincipal},
	{controller.ErrNotController, wire.CodeNotController},
	{controller.ErrClosed, wire.CodeNotController},
	{clusternet.ErrNoNodeIdentity, wire.CodeForbidden},
	{clusternet.ErrForbidden, wire.CodeForbidden},
	{meta.ErrUnknownBroker, wire.CodeUnknownBroker},
	{controller.ErrUnknownController, wire.CodeUnknownBroker},
	{controller.ErrQuorumAtRisk, wire.CodeInvalidRequest},
	{controller.ErrControllerAlive, wire.CodeInvalidRequest},
}

// toWire is the one place errors become API errors: every handler's error
// goes through it. Unknown errors are internal (500) and logged by the
// caller.
func toWire(err error) *wire.Error {
	var we *wire.Error
	if errors.As(err, &we) {
		return we
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return wire.Errorf(wire.CodeRecordTooLarge, "request body larger than %d bytes", tooBig.Limit)
	}
	out := &wire.Error{Code: wire.CodeInternal, Message: err.Error()}
	for _, m := range codeTable {
		if errors.Is(err, m.err) {
			out.Code = m.code
			break
		}
	}
	var re *broker.RecordError
	if errors.As(err, &re) {
		out.Details = &wire.ErrorDetails{Index: wire.Ptr(re.Index)}
	}
	var nl *broker.NotLeaderError
	if errors.As(err, &nl) {
		out.Details = &wire.ErrorDetails{LeaderID: wire.Ptr(nl.LeaderID), LeaderAddr: nl.LeaderAddr, LeaderEpoch: wire.Ptr(nl.LeaderEpoch)}
	}
	var oe *broker.OffsetRangeError
	if errors.As(err, &oe) {
		out.Details = &wire.ErrorDetails{LogStart: wire.Ptr(oe.LogStart), LogEnd: wire.Ptr(oe.LogEnd)}
	}
	var pe *PluginError
	if errors.As(err, &pe) {
		if out.Details == nil {
			out.Details = &wire.ErrorDetails{}
		}
		out.Details.Plugin = pe.Plugin
	}
	var nc *controller.NotControllerError
	if errors.As(err, &nc) {
		out.Details = &wire.ErrorDetails{LeaderID: wire.Ptr(int32(nc.LeaderID)), LeaderAddr: nc.LeaderHTTPAddr}
	}
	return out
}

// ErrorCode is the API code of err, or "" when err maps to no specific
// code (internal). Other APIs of the node (WebSocket) use it so that both
// name an error the same way.
func ErrorCode(err error) string {
	if c := toWire(err).Code; c != wire.CodeInternal {
		return string(c)
	}
	return ""
}
