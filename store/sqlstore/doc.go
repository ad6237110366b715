// Package sqlstore implements store.Store on SQLite (modernc.org/sqlite, no
// cgo) and PostgreSQL (pgx), both through sqlx. All of the project's SQL lives
// here, next to the per-dialect migrations it needs (applied with goose).
//
// SQLite is the single-process embedded choice: one write connection (SQLite
// admits one writer at a time) and a pool of readers, WAL with
// synchronous=FULL so that an acknowledged write survives power loss; the
// fsync cost is shared by the hundreds of rows of a batch. PostgreSQL is for
// several replicas; it writes batches as multi-row statements because one
// round trip per row would cap ingest far below SQLite.
package sqlstore
