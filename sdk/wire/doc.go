// Package wire is Sluice's HTTP /v1 contract: the JSON request and response
// shapes of every endpoint, the error codes with their HTTP statuses, and the
// compact binary record format used by the Go client and benchmarks to
// produce and fetch without paying for JSON and base64.
//
// The server (platform/httpapi) and the Go client (sdk/client) both import
// this package, so the two can never disagree about a field name. It imports
// nothing from the server, not even package record: it is the contract, and
// docs/api.md is its prose form.
//
// Conventions used throughout:
//   - Timestamps are milliseconds since the Unix epoch (int64).
//   - Partition indexes are int32, offsets int64, node ids int32.
//   - Byte strings (keys, values, header values) travel in JSON as text when
//     they are valid UTF-8 and as base64 otherwise; an accompanying
//     *_encoding field says which (see EncodeBytes and DecodeBytes).
package wire

// MediaTypeRecords is the Content-Type of a binary record body: a produce
// request, or a fetch answer when the client asks for it with Accept or
// format=binary. See AppendRecords and AppendFetchBatch.
const MediaTypeRecords = "application/vnd.sluice.records"

// MediaTypeResults is the Content-Type of a binary produce answer, sent when a
// produce request carries "Accept: application/vnd.sluice.results".
// See AppendProduceResults.
const MediaTypeResults = "application/vnd.sluice.results"

// MediaTypeJSON is the Content-Type of every JSON body.
const MediaTypeJSON = "application/json"

// MediaTypeWasm is the Content-Type of a plugin upload body.
const MediaTypeWasm = "application/wasm"

// Version is the path prefix of the API this package describes.
const Version = "/v1"
