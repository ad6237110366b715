//go:build !unix

package sqlstore

// lockMigrations does nothing where flock is missing: there, start one
// process on a new SQLite file before any other.
func lockMigrations(string) (func(), error) { return func() {}, nil }
