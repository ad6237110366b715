// Package transcript is the domain model of a customer-service conversation:
// validation against configurable limits, the metrics derived on ingest, and
// the compact encoding the store keeps messages in. It knows nothing of gRPC
// or SQL, so every rule is tested directly.
package transcript
