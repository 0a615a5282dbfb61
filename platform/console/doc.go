// Package console is Sluice's web console: a single-page application for
// operators (cluster with throughput and lag charts, topics paged and
// sorted with sizes, partitions with leader/ISR/high watermark, a message
// browser, consumer groups with lag, plugins, a live tail of a topic, and
// the actions on them, offered as the caller's ACLs allow) served by
// every node.
//
// The page is plain HTML, CSS and JavaScript embedded in the binary with
// embed: no build step, no CDN, nothing fetched from the internet. It
// talks only to the node's public HTTP API (/v1, docs/api.md) and its
// WebSocket consume endpoint (docs/websocket.md), from the same origin,
// so it works through whatever reaches the node and needs no credentials
// of its own.
//
// Handler serves the page at "/" and "/console/", and its assets under
// "/console/"; Mount registers those routes on a node's API server.
package console
