// Command storebench measures the store's own batched insert throughput at
// scale: it writes --n synthetic transcripts in batches of --batch through
// sqlstore.UpsertTranscripts, prints rows/s for every --every rows and,
// at the end, the bytes on disk per transcript.
//
// Preparing transcripts (metrics, zstd, hashing) is not timed: a pool of
// distinct prepared transcripts is made first and stamped with fresh ids and
// end times as rows are written, so the figures are the store's alone.
//
//	go run ./cmd/storebench --db /tmp/bench.db --n 1000000
//	go run ./cmd/storebench --db 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable&search_path=bench'
//
// With --sample it writes nothing itself but times the weekly sampling
// over a database it filled before (ISO week 2026-W47, sampled in UTC):
// previews, runs under new policy versions and a top-up after late chats
// (see runSample). It changes the database, so give it a copy:
//
//	cp /tmp/bench.db /tmp/run.db && go run ./cmd/storebench --sample --db /tmp/run.db --repeat 3
//
// With --parts it then times a preview's parts alone (the bare index scan,
// the week's scan, the HMAC keys, the sampler over the week in memory) and
// prints the floor they set on two cores against the bare scan (see
// timeParts). It measures this process's CPU, so it takes a SQLite --db
// only (PostgreSQL's scans run in the server).
package main
