package wire

// Routes the web console uses beside the rest of the API (docs/api.md).
const (
	// RouteTopicPage answers one page of topics with their log figures
	// and the cluster-wide totals (TopicPage).
	RouteTopicPage = "GET /v1/cluster/topics"
	// RoutePermissions answers which of the given actions the caller's
	// ACLs allow (PermissionsRequest → PermissionsResponse).
	RoutePermissions = "POST /v1/whoami/permissions"
	// RouteTestPlugin runs an uploaded plugin version on sample records
	// (PluginTestRequest → PluginTestResponse), nothing stored.
	RouteTestPlugin = "POST /v1/plugins/{name}/test"
)

// Query parameters of RouteTopicPage.
const (
	ParamPageOffset = "offset"   // first row of the page (0-based), default 0
	ParamPageLimit  = "limit"    // rows per page, default 50, at most MaxTopicPage
	ParamSort       = "sort"     // a TopicSort* column, default name
	ParamOrder      = "order"    // asc (default) or desc
	ParamFilter     = "filter"   // keep topics whose name contains this text (case-insensitive)
	ParamInternal   = "internal" // "true": internal topics too
)

// MaxTopicPage bounds the rows of one RouteTopicPage answer.
const MaxTopicPage = 500

// Columns RouteTopicPage sorts by. Sorting by records or log_bytes needs
// the log figures of every matching topic, not only the page's.
const (
	TopicSortName            = "name"
	TopicSortPartitions      = "partitions"
	TopicSortReplication     = "replication_factor"
	TopicSortUnderReplicated = "under_replicated"
	TopicSortRecords         = "records"
	TopicSortLogBytes        = "log_bytes"
)

// TopicPage is the answer of RouteTopicPage.
type TopicPage struct {
	// Totals cover every topic the caller may describe (internal ones
	// included), from the metadata: they do not depend on the page.
	Totals TopicTotals `json:"totals"`
	// Matched counts the topics that pass the filter (and the internal
	// switch): the rows there are to page through.
	Matched int        `json:"matched"`
	Offset  int        `json:"offset"`
	Limit   int        `json:"limit"`
	Topics  []TopicRow `json:"topics"`
}

// TopicTotals are cluster-wide figures over the visible topics.
type TopicTotals struct {
	Topics          int `json:"topics"`
	Internal        int `json:"internal"`
	Partitions      int `json:"partitions"`
	UnderReplicated int `json:"under_replicated"`
	Offline         int `json:"offline"`
	// Brokers: partitions each broker leads and replicas it holds.
	Brokers []BrokerLoad `json:"brokers"`
}

// BrokerLoad is one broker's share of the visible topics.
type BrokerLoad struct {
	ID       int32 `json:"id"`
	Leads    int   `json:"leads"`
	Replicas int   `json:"replicas"`
}

// TopicRow is one topic of a TopicPage: its summary, partition health
// from the metadata, and log figures from the partitions' leaders.
type TopicRow struct {
	TopicSummary
	UnderReplicated int `json:"under_replicated"`
	Offline         int `json:"offline"`
	// Leaders are the brokers leading its partitions, ascending.
	Leaders []int32 `json:"leaders"`
	// HighWatermark, Records (Σ HW − log start) and LogBytes sum the
	// partitions whose leader answered; Unknown counts those that did not.
	HighWatermark int64 `json:"high_watermark"`
	Records       int64 `json:"records"`
	LogBytes      int64 `json:"log_bytes"`
	Unknown       int   `json:"unknown"`
}

// MaxPermissionChecks bounds the checks of one PermissionsRequest.
const MaxPermissionChecks = 256

// PermissionCheck names one action: an operation (produce, consume,
// describe, create, alter, delete, upload, admin) on a resource (topic,
// group, plugin or cluster; the cluster's name may be left empty).
type PermissionCheck struct {
	ResourceType string `json:"resource_type"`
	Resource     string `json:"resource,omitempty"`
	Operation    string `json:"operation"`
}

// PermissionsRequest is the body of RoutePermissions.
type PermissionsRequest struct {
	Checks []PermissionCheck `json:"checks"`
}

// PermissionResult is a check with the decision.
type PermissionResult struct {
	PermissionCheck
	Allowed bool `json:"allowed"`
	// Reason is why (the ACL rule that decided, or "auth is off").
	Reason string `json:"reason,omitempty"`
}

// PermissionsResponse is the answer of RoutePermissions, one result per
// check in order.
type PermissionsResponse struct {
	Principal   string             `json:"principal,omitempty"`
	AuthEnabled bool               `json:"auth_enabled"`
	Results     []PermissionResult `json:"results"`
}

// MaxPluginTestRecords bounds the records of one PluginTestRequest.
const MaxPluginTestRecords = 1000

// PluginTestRequest is the body of RouteTestPlugin.
type PluginTestRequest struct {
	// Version to run; 0 is the latest.
	Version int32 `json:"version,omitempty"`
	// Partitions is the partition count given to a partitioner (default 1).
	Partitions int32 `json:"partitions,omitempty"`
	// Partition is the partition a processor is told the records come from.
	Partition int32 `json:"partition,omitempty"`
	// Params override the version's default parameters.
	Params map[string]string `json:"params,omitempty"`
	// Records are the input, as in a produce request; record i gets offset i.
	Records []ProduceRecord `json:"records"`
}

// PluginTestOutput is one decision: for a partitioner, the partition of
// input record Offset; for a processor, an output record of input Offset.
type PluginTestOutput struct {
	// Offset is the input record's index.
	Offset        int64        `json:"offset"`
	Partition     *int32       `json:"partition,omitempty"`
	Key           *string      `json:"key,omitempty"`
	KeyEncoding   string       `json:"key_encoding,omitempty"`
	Value         string       `json:"value"`
	ValueEncoding string       `json:"value_encoding,omitempty"`
	Headers       []JSONHeader `json:"headers,omitempty"`
}

// PluginTestResponse is the answer of RouteTestPlugin.
type PluginTestResponse struct {
	// Plugin is the version run, "name@N".
	Plugin string `json:"plugin"`
	Kind   string `json:"kind"`
	// Outputs: one per input record (partitioner), or the records the
	// processor emitted (any number per input).
	Outputs []PluginTestOutput `json:"outputs"`
}
