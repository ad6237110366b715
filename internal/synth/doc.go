// Package synth makes plausible customer-service transcripts for benchmarks
// and load tests: mixed Chinese/English e-commerce chats of about twenty
// messages and 2.7 KB of text, with order numbers, tracking numbers, amounts
// and dates drawn at random, so that compression and storage figures are
// close to real ones rather than flattered by repeated text.
package synth
