package wire

// Route patterns of the API, in net/http.ServeMux syntax (method, then path
// with {wildcards}). The server registers exactly these; docs/api.md
// describes each.
const (
	RouteListTopics    = "GET /v1/topics"
	RouteCreateTopic   = "POST /v1/topics"
	RouteDescribeTopic = "GET /v1/topics/{topic}"
	RouteAlterTopic    = "PATCH /v1/topics/{topic}"
	RouteDeleteTopic   = "DELETE /v1/topics/{topic}"
	RouteProduce       = "POST /v1/topics/{topic}/records"
	RouteFetch         = "GET /v1/topics/{topic}/partitions/{partition}/records"
	RouteOffsets       = "GET /v1/topics/{topic}/partitions/{partition}/offsets"

	RouteCluster = "GET /v1/cluster"
	RouteHealth  = "GET /healthz"
	RouteMetrics = "GET /metrics"

	RouteListPlugins         = "GET /v1/plugins"
	RouteUploadPlugin        = "POST /v1/plugins/{name}"
	RouteDescribePlugin      = "GET /v1/plugins/{name}"
	RouteDeletePlugin        = "DELETE /v1/plugins/{name}"
	RouteDeletePluginVersion = "DELETE /v1/plugins/{name}/versions/{version}"

	RouteListGroups    = "GET /v1/groups"
	RouteDescribeGroup = "GET /v1/groups/{group}"
	RouteResetOffsets  = "POST /v1/groups/{group}/reset-offsets"
	RouteDeleteGroup   = "DELETE /v1/groups/{group}"
)
