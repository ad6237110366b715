// Package stardata turns the STAR corpus of real Wizard-of-Oz service chats
// (testdata/star, MIT licence) into realistic test input: it loads the
// original records, converts them to transcripts and an agent directory,
// writes both in the JSONL import format, and computes the metrics the
// service must derive straight from the raw events, independently of
// package transcript, so end-to-end tests can check what the server stored.
//
// It is test support, not a _test file, because tests in several packages
// use it; nothing in the service imports it.
package stardata
