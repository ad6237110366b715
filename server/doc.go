// Package server is the gRPC face of the service: handlers that turn API
// messages into domain calls, bearer-token authentication and role checks,
// the interceptor chain, health and reflection, and the mapping of store
// sentinel errors to gRPC codes. Handlers stay thin; rules live in the
// domain packages and SQL in store.
package server
