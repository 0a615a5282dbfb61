package wire

import (
	"encoding/json"
	"fmt"
)

// WebSocket endpoints (docs/websocket.md describes the protocol message by
// message). Both upgrade a GET request.
const (
	RouteWSConsume = "GET /v1/topics/{topic}/consume"
	RouteWSProduce = "GET /v1/topics/{topic}/produce"
)

// Query parameters of the consume endpoint (besides ParamProcessor,
// ParamPrefix for processor parameters, ParamFormat and ParamEncoding).
const (
	// WSParamGroup joins a consumer group; without it the connection reads
	// every partition, or those named by WSParamPartitions.
	WSParamGroup = "group"
	// WSParamFrom is where to start where the group has no committed
	// offset: "earliest", "latest" (default), "@<timestamp ms>", or
	// per-partition offsets "0:42,1:17" (partitions not named: latest).
	WSParamFrom = "from"
	// WSParamPartitions is a comma-separated list (no group only).
	WSParamPartitions = "partitions"
	// WSParamAssignor is range, roundrobin or sticky (default).
	WSParamAssignor = "assignor"
	// WSParamClientID names the client in group descriptions.
	WSParamClientID = "client_id"
	// WSParamSessionTimeoutMs is the group session timeout.
	WSParamSessionTimeoutMs = "session_timeout_ms"
)

// WSParamAcks is the produce endpoint's acks parameter ("0", "1", "all";
// default "all"), as ParamAcks.
const WSParamAcks = ParamAcks

// Message types ("type" of every JSON text frame).
const (
	// Client to server (consume).
	WSCredit    = "credit"
	WSCommit    = "commit"
	WSRevokeAck = "revoke_ack"
	WSPing      = "ping"
	// Client to server (produce).
	WSProduce = "produce"

	// Server to client.
	WSWelcome   = "welcome"
	WSAssigned  = "assigned"
	WSRevoked   = "revoked"
	WSRecords   = "records"
	WSCommitted = "committed"
	WSPong      = "pong"
	WSAck       = "ack"
	WSError     = "error"
)

// Error codes that only the WebSocket API uses (besides the codes in
// errors.go). They travel in error frames and committed answers.
const (
	// CodeUnknownMember: the connection is no longer a member of its group
	// (its session expired). Fatal: the server closes the connection.
	CodeUnknownMember Code = "unknown_member"
	// CodeFencedGeneration: a commit named partitions the member no longer
	// holds (or a generation it was not given). Not fatal.
	CodeFencedGeneration Code = "fenced_generation"
	// CodeIdleTimeout: the client neither sent a message nor answered a
	// ping within the idle timeout.
	CodeIdleTimeout Code = "idle_timeout"
	// CodeShuttingDown: the server is stopping; reconnect elsewhere.
	CodeShuttingDown Code = "shutting_down"
)

// WSType is the envelope every JSON text frame has: decode it first, then
// the message type it names.
type WSType struct {
	Type string `json:"type"`
}

// DecodeWSType reads the type of a JSON text frame.
func DecodeWSType(b []byte) (string, error) {
	var t WSType
	if err := json.Unmarshal(b, &t); err != nil {
		return "", fmt.Errorf("%w: websocket message: %w", ErrMalformed, err)
	}
	if t.Type == "" {
		return "", fmt.Errorf("%w: websocket message without a type", ErrMalformed)
	}
	return t.Type, nil
}

// WSCreditMsg grants credit: the server may send Records more records and,
// when Bytes > 0, about Bytes more payload bytes (see docs/websocket.md for
// the exact rule). Credit adds up.
type WSCreditMsg struct {
	Type    string `json:"type"` // "credit"
	Records int64  `json:"records"`
	Bytes   int64  `json:"bytes,omitempty"`
}

// WSCommitMsg commits positions of the connection's group. Generation is
// the generation of the latest assigned/revoked message the client saw;
// absent means the latest the server sent. ID is echoed in the answer.
type WSCommitMsg struct {
	Type       string     `json:"type"` // "commit"
	ID         string     `json:"id,omitempty"`
	Generation *int32     `json:"generation,omitempty"`
	Offsets    []WSOffset `json:"offsets"`
}

// WSOffset is a position in commit and committed: Offset is the next offset
// to read (a records frame's next_offset).
type WSOffset struct {
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Metadata  string `json:"metadata,omitempty"`
}

// WSRevokeAckMsg tells the server the client is done with revoked
// partitions (after committing what it processed).
type WSRevokeAckMsg struct {
	Type       string  `json:"type"` // "revoke_ack"
	Partitions []int32 `json:"partitions"`
}

// WSPingMsg asks for a pong (an application-level heartbeat for clients
// that cannot send WebSocket pings, such as browsers).
type WSPingMsg struct {
	Type string `json:"type"` // "ping" or "pong"
}

// WSWelcomeMsg opens every consume connection.
type WSWelcomeMsg struct {
	Type       string `json:"type"` // "welcome"
	Topic      string `json:"topic"`
	Partitions int32  `json:"partitions"` // the topic's partition count
	Group      string `json:"group,omitempty"`
	MemberID   string `json:"member_id,omitempty"`
	Assignor   string `json:"assignor,omitempty"`
	Format     string `json:"format"`
	// SessionTimeoutMs: a member silent this long leaves its group.
	SessionTimeoutMs int64 `json:"session_timeout_ms,omitempty"`
	// MaxBufferedBytes is the server's memory bound for this connection.
	MaxBufferedBytes int64 `json:"max_buffered_bytes"`
}

// WSAssignedMsg announces partitions the connection now serves, each with
// the offset its records start at. It precedes every record of them.
type WSAssignedMsg struct {
	Type       string             `json:"type"` // "assigned"
	Generation int32              `json:"generation"`
	Partitions []WSPartitionStart `json:"partitions"`
}

// WSPartitionStart is an assigned partition and its first offset.
type WSPartitionStart struct {
	Partition int32 `json:"partition"`
	Offset    int64 `json:"offset"`
}

// WSRevokedMsg says the server has stopped sending the partitions (no
// record of them follows this message). The client commits what it
// processed, then answers with revoke_ack.
type WSRevokedMsg struct {
	Type       string  `json:"type"` // "revoked"
	Generation int32   `json:"generation"`
	Partitions []int32 `json:"partitions"`
}

// WSRecordsMsg carries records of one partition in offset order (JSON
// format; the binary format sends the same content as a binary frame, see
// AppendFetchBatch). NextOffset is the position to commit once these
// records are processed; it moves past records a processor dropped, and a
// frame may have no records just to move it.
type WSRecordsMsg struct {
	Type          string        `json:"type"` // "records"
	Topic         string        `json:"topic"`
	Partition     int32         `json:"partition"`
	NextOffset    int64         `json:"next_offset"`
	HighWatermark int64         `json:"high_watermark"`
	Records       []FetchRecord `json:"records"`
}

// WSCommittedMsg answers a commit: the positions stored, or why not (the
// connection stays open).
type WSCommittedMsg struct {
	Type    string     `json:"type"` // "committed"
	ID      string     `json:"id,omitempty"`
	Offsets []WSOffset `json:"offsets,omitempty"`
	Error   *Error     `json:"error,omitempty"`
}

// WSProduceMsg is a batch for the produce endpoint. Seq is the client's
// number for it, echoed in the answer; answers come in the order batches
// were sent.
type WSProduceMsg struct {
	Type    string          `json:"type"` // "produce"
	Seq     int64           `json:"seq"`
	Records []ProduceRecord `json:"records"`
}

// WSAckMsg answers one produce batch: a result per record, or an Error for
// the whole batch (nothing written).
type WSAckMsg struct {
	Type    string          `json:"type"` // "ack"
	Seq     int64           `json:"seq"`
	Results []ProduceResult `json:"results,omitempty"`
	Error   *Error          `json:"error,omitempty"`
}

// WSErrorMsg is the last message of a failed connection; a close frame
// with the code as reason follows.
type WSErrorMsg struct {
	Type  string `json:"type"` // "error"
	Error *Error `json:"error"`
}
