package httpapi

import (
	"cmp"
	"context"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/sluicehq/sluice/platform/auth"
	"github.com/sluicehq/sluice/platform/meta"
	"github.com/sluicehq/sluice/sdk/wire"
)

// The routes the web console needs beside the rest of the API: a page of
// topics with figures in one call, the caller's permissions, and (added
// by the node with HandleStatsHistory) the throughput history.

// topicPageDefault is the page size when the request names none.
const topicPageDefault = 50

// topicFigureWorkers bounds the topics whose log figures are read at once
// for one page (each is one call to every leader of a remote partition).
const topicFigureWorkers = 8

// registerConsoleAPI adds RouteTopicPage and RoutePermissions.
func (s *Server) registerConsoleAPI() {
	s.HandleFunc(wire.RouteTopicPage, s.topicPage)
	s.HandleFunc(wire.RoutePermissions, s.permissions)
}

// HandleStatsHistory serves RouteStatsHistory from history (the node's
// sampler).
func (s *Server) HandleStatsHistory(history func() wire.StatsHistory) {
	s.HandleFunc(wire.RouteStatsHistory, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, history())
	})
}

// topicQuery is a parsed RouteTopicPage request.
type topicQuery struct {
	offset, limit int
	sort          string
	desc          bool
	filter        string
	internal      bool
}

func parseTopicQuery(q map[string][]string) (topicQuery, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	tq := topicQuery{limit: topicPageDefault, sort: wire.TopicSortName, filter: strings.ToLower(get(wire.ParamFilter))}
	if v := get(wire.ParamPageOffset); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return tq, badRequest("%s=%q: want an integer >= 0", wire.ParamPageOffset, v)
		}
		tq.offset = n
	}
	if v := get(wire.ParamPageLimit); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > wire.MaxTopicPage {
			return tq, badRequest("%s=%q: want 1 to %d", wire.ParamPageLimit, v, wire.MaxTopicPage)
		}
		tq.limit = n
	}
	switch v := get(wire.ParamSort); v {
	case "":
	case wire.TopicSortName, wire.TopicSortPartitions, wire.TopicSortReplication, wire.TopicSortUnderReplicated,
		wire.TopicSortRecords, wire.TopicSortLogBytes:
		tq.sort = v
	default:
		return tq, badRequest("%s=%q: want name, partitions, replication_factor, under_replicated, records or log_bytes", wire.ParamSort, v)
	}
	switch v := get(wire.ParamOrder); v {
	case "", "asc":
	case "desc":
		tq.desc = true
	default:
		return tq, badRequest("%s=%q: want asc or desc", wire.ParamOrder, v)
	}
	switch v := get(wire.ParamInternal); v {
	case "", "false":
	case "true":
		tq.internal = true
	default:
		return tq, badRequest("%s=%q: want true or false", wire.ParamInternal, v)
	}
	return tq, nil
}

// needsFigures reports whether sorting needs every matching topic's log
// figures, not only the page's.
func (q topicQuery) needsFigures() bool {
	return q.sort == wire.TopicSortRecords || q.sort == wire.TopicSortLogBytes
}

// topicRow is a topic's row without log figures (from metadata alone).
func topicRow(t *meta.Topic) wire.TopicRow {
	row := wire.TopicRow{TopicSummary: wire.TopicSummary{
		Name:              t.Name,
		Partitions:        int32(len(t.Partitions)),
		ReplicationFactor: int32(t.ReplicationFactor),
		Partitioner:       t.Partitioner.String(),
		Internal:          t.Internal,
	}, Leaders: []int32{}}
	for _, p := range t.Partitions {
		if p.Leader == meta.NoLeader {
			row.Offline++
		} else if !slices.Contains(row.Leaders, int32(p.Leader)) {
			row.Leaders = append(row.Leaders, int32(p.Leader))
		}
		if len(p.ISR) < len(p.Replicas) {
			row.UnderReplicated++
		}
	}
	slices.Sort(row.Leaders)
	return row
}

// addFigures sums a described topic's log figures into row.
func addFigures(row *wire.TopicRow, t wire.Topic) {
	row.HighWatermark, row.Records, row.LogBytes, row.Unknown = 0, 0, 0, 0
	for _, p := range t.Partitions {
		if p.HighWatermark < 0 {
			row.Unknown++
			continue
		}
		row.HighWatermark += p.HighWatermark
		row.Records += p.HighWatermark - max(p.LogStart, 0)
		row.LogBytes += max(p.LogBytes, 0)
	}
}

// sortRows orders rows by q's column, ties by name (always ascending, so
// pages are stable).
func sortRows(rows []wire.TopicRow, q topicQuery) {
	key := func(r *wire.TopicRow) int64 {
		switch q.sort {
		case wire.TopicSortPartitions:
			return int64(r.Partitions)
		case wire.TopicSortReplication:
			return int64(r.ReplicationFactor)
		case wire.TopicSortUnderReplicated:
			return int64(r.UnderReplicated)
		case wire.TopicSortRecords:
			return r.Records
		case wire.TopicSortLogBytes:
			return r.LogBytes
		}
		return 0
	}
	slices.SortStableFunc(rows, func(a, b wire.TopicRow) int {
		c := 0
		if q.sort == wire.TopicSortName {
			c = strings.Compare(a.Name, b.Name)
		} else {
			c = cmp.Compare(key(&a), key(&b))
		}
		if q.desc {
			c = -c
		}
		if c == 0 {
			c = strings.Compare(a.Name, b.Name)
		}
		return c
	})
}

// topicPage answers RouteTopicPage: totals over every visible topic from
// the metadata, and one page of rows whose log figures come from the
// leaders (of the page's topics only, unless the sort needs them all).
func (s *Server) topicPage(w http.ResponseWriter, r *http.Request) {
	q, err := parseTopicQuery(r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c := s.cfg.Metadata()
	out := wire.TopicPage{Offset: q.offset, Limit: q.limit, Topics: []wire.TopicRow{}}
	loads := map[int32]*wire.BrokerLoad{}
	load := func(id int32) *wire.BrokerLoad {
		if l, ok := loads[id]; ok {
			return l
		}
		l := &wire.BrokerLoad{ID: id}
		loads[id] = l
		return l
	}
	for _, b := range c.Brokers {
		load(int32(b.ID))
	}
	var rows []wire.TopicRow
	var topics []*meta.Topic
	for _, name := range c.TopicNames() {
		if !auth.Visible(r.Context(), meta.ResourceTopic, name) {
			continue
		}
		t := c.Topics[name]
		row := topicRow(t)
		out.Totals.Topics++
		if t.Internal {
			out.Totals.Internal++
		}
		out.Totals.Partitions += len(t.Partitions)
		out.Totals.UnderReplicated += row.UnderReplicated
		out.Totals.Offline += row.Offline
		for _, p := range t.Partitions {
			if p.Leader != meta.NoLeader {
				load(int32(p.Leader)).Leads++
			}
			for _, rep := range p.Replicas {
				load(int32(rep)).Replicas++
			}
		}
		if (t.Internal && !q.internal) || !strings.Contains(strings.ToLower(name), q.filter) {
			continue
		}
		rows = append(rows, row)
		topics = append(topics, t)
	}
	for _, id := range slices.Sorted(maps.Keys(loads)) {
		out.Totals.Brokers = append(out.Totals.Brokers, *loads[id])
	}
	out.Matched = len(rows)
	if q.needsFigures() {
		s.fillFigures(r.Context(), rows, topics)
		sortRows(rows, q)
		rows = pageOf(rows, q)
	} else {
		sortRows(rows, q)
		rows = pageOf(rows, q)
		byName := make(map[string]*meta.Topic, len(topics))
		for _, t := range topics {
			byName[t.Name] = t
		}
		page := make([]*meta.Topic, len(rows))
		for i := range rows {
			page[i] = byName[rows[i].Name]
		}
		s.fillFigures(r.Context(), rows, page)
	}
	out.Topics = append(out.Topics, rows...)
	writeJSON(w, http.StatusOK, out)
}

func pageOf(rows []wire.TopicRow, q topicQuery) []wire.TopicRow {
	if q.offset >= len(rows) {
		return nil
	}
	return rows[q.offset:min(q.offset+q.limit, len(rows))]
}

// fillFigures reads the log figures of topics[i] into rows[i], a few
// topics at a time.
func (s *Server) fillFigures(ctx context.Context, rows []wire.TopicRow, topics []*meta.Topic) {
	sem := make(chan struct{}, topicFigureWorkers)
	var wg sync.WaitGroup
	for i := range rows {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			addFigures(&rows[i], s.topicAnswer(ctx, topics[i]))
		}()
	}
	wg.Wait()
}

// permissions answers RoutePermissions: each check decided against the
// metadata's ACLs for the caller (everything allowed when auth is off).
func (s *Server) permissions(w http.ResponseWriter, r *http.Request) {
	var req wire.PermissionsRequest
	if err := readJSON(w, r, 64<<10, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(req.Checks) > wire.MaxPermissionChecks {
		s.writeError(w, r, badRequest("%d checks: at most %d", len(req.Checks), wire.MaxPermissionChecks))
		return
	}
	out := wire.PermissionsResponse{AuthEnabled: s.cfg.Security.Auth, Results: make([]wire.PermissionResult, len(req.Checks))}
	id, _ := IdentityFrom(r.Context())
	out.Principal = id.Principal
	acls := s.cfg.Metadata().ACLs
	for i, c := range req.Checks {
		if !slices.Contains(meta.ResourceTypes, c.ResourceType) {
			s.writeError(w, r, badRequest("check %d: resource_type %q: want topic, group, plugin or cluster", i, c.ResourceType))
			return
		}
		if c.ResourceType == meta.ResourceCluster && c.Resource == "" {
			c.Resource = meta.ClusterResourceName
		}
		res := wire.PermissionResult{PermissionCheck: c}
		if !s.cfg.Security.Auth {
			res.Allowed, res.Reason = true, "auth is off"
		} else {
			d := auth.Authorize(acls, auth.Request{Principal: id.Principal, ResourceType: c.ResourceType, Resource: c.Resource, Operation: c.Operation})
			res.Allowed, res.Reason = d.Allowed, d.Reason
		}
		out.Results[i] = res
	}
	writeJSON(w, http.StatusOK, out)
}
