// Package checks runs the automatic checks of SPEC §6 on a conversation:
// reply times against a per-channel SLA, and phrase lists (greeting,
// closing, forbidden phrases, empathy in complaints) matched robustly
// (simplified and traditional characters, full- and half-width forms,
// case) in one Aho-Corasick pass over the agent's messages. Each hit
// names the message it points to. The package is pure: the server runs
// it at ingest and the store keeps the result (transcript.Checks).
package checks
