// Package store defines the persistence contract of the service: one
// interface per capability (AgentStore, TranscriptStore, ..., BacklogStore),
// composed into Store, with their record types and sentinel errors. Backends
// live in sub-packages and are checked by the shared conformance suite in
// storetest. Storage knows nothing of gRPC; the server maps the sentinels to
// codes.
//
// Sampling (SPEC §2 steps 2–3, §4): the rules live in package sampler; the
// store keeps what they need and what they decided (inspectors, policies,
// runs, picks), so any run can be explained and recomputed.
//
// Scoring (SPEC §2 steps 4–6, disputes, §5): package scoring defines rubrics
// and computes scores; the store keeps what it decided (rubric versions,
// reviews, the feedback records they send to supervisors, disputes, the
// audit trail and what reports read).
package store
