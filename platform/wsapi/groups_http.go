package wsapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/platform/auth"
	"github.com/sluicehq/sluice/platform/groups"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/sdk/wire"
)

// adminTimeout bounds one group admin request.
const adminTimeout = 30 * time.Second

func (h *Handler) writeJSONResponse(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (h *Handler) writeError(w http.ResponseWriter, err error) {
	e := h.toWire(err)
	if e.Code == wire.CodeInternal {
		h.cfg.Logger.Warn("group admin request failed", "err", err)
	}
	writeHTTPError(w, e)
}

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), adminTimeout)
	defer cancel()
	list, err := h.cfg.Groups.List(ctx)
	if err != nil {
		h.writeError(w, err)
		return
	}
	out := wire.GroupList{Groups: make([]wire.GroupSummary, 0, len(list))}
	for _, g := range list {
		if !auth.Visible(r.Context(), meta.ResourceGroup, g.Group) {
			continue
		}
		out.Groups = append(out.Groups, wire.GroupSummary{Group: g.Group, State: g.State, Members: g.Members,
			Assignor: g.Assignor, Coordinator: h.cfg.NodeID})
	}
	if r.Header.Get(ForwardedHeader) == "" && h.cfg.Peers != nil {
		// Each node lists the groups it coordinates: ask the others.
		for _, base := range h.cfg.Peers() {
			more, err := h.peerGroups(ctx, base, r.Header.Get("Authorization"))
			if err != nil {
				h.writeError(w, fmt.Errorf("list groups of %s: %w", base, err))
				return
			}
			out.Groups = append(out.Groups, more...)
		}
		slices.SortFunc(out.Groups, func(a, b wire.GroupSummary) int { return strings.Compare(a.Group, b.Group) })
	}
	h.writeJSONResponse(w, http.StatusOK, out)
}

// peerGroups lists the groups the node at base coordinates.
// The caller's credential goes along: the peer checks it as its own.
func (h *Handler) peerGroups(ctx context.Context, base, authorization string) ([]wire.GroupSummary, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/groups", nil)
	if err != nil {
		return nil, err
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	req.Header.Set(ForwardedHeader, strconv.Itoa(int(h.cfg.NodeID)))
	hc := &http.Client{Transport: h.cfg.ProxyTransport}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var er wire.ErrorResponse
		if json.NewDecoder(resp.Body).Decode(&er) == nil && er.Error != nil {
			return nil, er.Error
		}
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	var l wire.GroupList
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		return nil, err
	}
	return l.Groups, nil
}

func (h *Handler) describeGroup(w http.ResponseWriter, r *http.Request) {
	if h.toCoordinator(w, r, r.PathValue("group")) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), adminTimeout)
	defer cancel()
	d, err := h.cfg.Groups.Describe(ctx, r.PathValue("group"))
	if err != nil {
		h.writeError(w, err)
		return
	}
	out := wire.Group{Group: d.Group, State: d.State, Generation: d.Generation, Assignor: d.Assignor,
		Coordinator: h.cfg.NodeID, Members: []wire.GroupMember{}, Offsets: toWireOffsets(d.Offsets)}
	for _, m := range d.Members {
		parts := append(append([]int32{}, m.Assigned...), m.Revoking...)
		out.Members = append(out.Members, wire.GroupMember{ID: m.ID, ClientID: m.ClientID, Host: m.Host,
			Assignment: []wire.TopicPartitions{{Topic: m.Topic, Partitions: sortedCopy(parts)}}})
	}
	h.writeJSONResponse(w, http.StatusOK, out)
}

func toWireOffsets(os []groups.PartitionOffset) []wire.GroupOffset {
	out := make([]wire.GroupOffset, 0, len(os))
	for _, o := range os {
		out = append(out, wire.GroupOffset{Topic: o.Topic, Partition: o.Partition, Committed: o.Committed, LogEnd: o.LogEnd, Lag: o.Lag})
	}
	return out
}

func (h *Handler) resetOffsets(w http.ResponseWriter, r *http.Request) {
	if h.toCoordinator(w, r, r.PathValue("group")) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), adminTimeout)
	defer cancel()
	var req wire.ResetOffsetsRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		h.writeError(w, fmt.Errorf("%w: reset-offsets body: %w", errBadRequest, err))
		return
	}
	var to groups.ResetTo
	switch {
	case req.ShiftBy != nil && req.To != "":
		h.writeError(w, fmt.Errorf("%w: reset-offsets: give to or shift_by, not both", errBadRequest))
		return
	case req.ShiftBy != nil:
		to = groups.ResetTo{Kind: groups.ResetShift, Value: *req.ShiftBy}
	default:
		var err error
		if to, err = groups.ParseResetTo(req.To); err != nil {
			h.writeError(w, err)
			return
		}
	}
	reset := h.cfg.Groups.ResetOffsets
	if req.DryRun {
		reset = h.cfg.Groups.PlanResetOffsets
	}
	offs, err := reset(ctx, r.PathValue("group"), req.Topic, to, req.Partitions)
	if err != nil {
		h.writeError(w, err)
		return
	}
	h.writeJSONResponse(w, http.StatusOK, wire.ResetOffsetsResponse{Offsets: toWireOffsets(offs)})
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request) {
	if h.toCoordinator(w, r, r.PathValue("group")) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), adminTimeout)
	defer cancel()
	if err := h.cfg.Groups.Delete(ctx, r.PathValue("group")); err != nil {
		h.writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func sortedCopy(ps []int32) []int32 {
	out := slices.Clone(ps)
	slices.Sort(out)
	return out
}
