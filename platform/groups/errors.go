package groups

import "errors"

// The errors callers act on; they are wrapped with context where returned, so
// test them with errors.Is. The API layer maps each to one wire code.
var (
	// ErrUnknownGroup: no such group (no members and no committed offsets).
	ErrUnknownGroup = errors.New("unknown group")
	// ErrUnknownMember: the member id is not (or no longer) in the group,
	// for example because its session expired. The client must rejoin.
	ErrUnknownMember = errors.New("unknown member")
	// ErrFencedGeneration: a commit names a generation in which the member
	// did not own the partition (it was revoked and released, or the
	// generation is not one the member was given). Nothing was committed.
	ErrFencedGeneration = errors.New("fenced generation")
	// ErrGroupNotEmpty: the operation (reset-offsets, delete) needs a
	// group without members.
	ErrGroupNotEmpty = errors.New("group has active members")
	// ErrInconsistentAssignor: a member asked for an assignor that differs
	// from the one the group's current members use.
	ErrInconsistentAssignor = errors.New("inconsistent assignor")
	// ErrUnknownAssignor: the assignor name is not range, roundrobin or
	// sticky.
	ErrUnknownAssignor = errors.New("unknown assignor")
	// ErrInvalidRequest: a malformed argument (empty group name, negative
	// offset, partition out of range, ...).
	ErrInvalidRequest = errors.New("invalid request")
	// ErrOffsetOutOfRange: a commit of an offset past the partition's
	// high watermark.
	ErrOffsetOutOfRange = errors.New("offset out of range")
	// ErrNotStarted: the coordinator has not loaded committed offsets yet.
	ErrNotStarted = errors.New("coordinator not started")
	// ErrClosed: the coordinator is closed.
	ErrClosed = errors.New("coordinator closed")
)
