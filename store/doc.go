// Package store defines the persistence contract of the service: the Store
// interface, its record types and its sentinel errors. Backends live in
// sub-packages and are checked by the shared conformance suite in storetest.
// Storage knows nothing of gRPC; the server maps the sentinels to codes.
package store
