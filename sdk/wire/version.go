package wire

// RouteVersion answers the node's build (BuildVersion).
const RouteVersion = "GET /v1/version"

// BuildVersion is the answer of GET /v1/version: which build of Sluice the node
// runs. Fields its build did not record are omitted.
type BuildVersion struct {
	Version   string `json:"version"`
	Revision  string `json:"revision,omitempty"`
	Modified  bool   `json:"modified,omitempty"`
	Time      string `json:"time,omitempty"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	NodeID    int32  `json:"node_id"`
}
