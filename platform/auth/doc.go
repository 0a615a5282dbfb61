// Package auth holds the client plane's security rules as plain values and
// functions: API tokens (generation, argon2id hashing, verification with
// a short-lived cache), the ACL authorizer (Kafka's model: deny wins), the
// browser origin policy, and the TLS certificate reloader of the client
// listener. platform/httpapi applies them to every /v1 request; the
// metadata they read (principals, ACLs) lives in platform/meta.
package auth
