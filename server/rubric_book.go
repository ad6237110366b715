package server

import (
	"context"
	"errors"
	"sync"

	"qa-sampling/scoring"
	"qa-sampling/store"
)

// rubricBook reads rubric versions and parses them: the one place that
// knows a stored document is a scoring.Rubric, and that seeds the default
// (SPEC §5) when none exists yet.
type rubricBook struct {
	store Storage
	// locked caches parsed versions that reviews use: those never change,
	// and every finalise needs one.
	mu     sync.Mutex
	locked map[int64]lockedRubric
}

type lockedRubric struct {
	rubric  scoring.Rubric
	version store.RubricVersion
}

// parse parses rv, from the cache if it is a locked version.
func (b *rubricBook) parse(rv store.RubricVersion) (scoring.Rubric, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c, ok := b.locked[rv.Version]; ok {
		return c.rubric, nil
	}
	r, err := parseStoredRubric(rv)
	if err == nil && rv.Locked {
		if b.locked == nil {
			b.locked = make(map[int64]lockedRubric)
		}
		b.locked[rv.Version] = lockedRubric{rubric: r, version: rv}
	}
	return r, err
}

// cached returns a locked version without reading the database.
func (b *rubricBook) cached(version int64) (lockedRubric, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.locked[version]
	return c, ok
}

// active returns the active rubric, storing the default first if the
// database has none (first start, or a replica racing it: EnsureRubric
// makes them agree on one version).
func (b *rubricBook) active(ctx context.Context) (scoring.Rubric, store.RubricVersion, error) {
	rv, err := b.store.GetRubric(ctx, 0)
	if errors.Is(err, store.ErrNotFound) {
		rv, err = b.store.EnsureRubric(ctx, scoring.DefaultRubric().JSON(), "system")
	}
	if err != nil {
		return scoring.Rubric{}, store.RubricVersion{}, err
	}
	r, err := b.parse(rv)
	return r, rv, err
}

// version returns one version; 0 is the active one. A locked version's
// Active flag may be stale when it comes from the cache.
func (b *rubricBook) version(ctx context.Context, version int64) (scoring.Rubric, store.RubricVersion, error) {
	if version == 0 {
		return b.active(ctx)
	}
	if c, ok := b.cached(version); ok {
		return c.rubric, c.version, nil
	}
	rv, err := b.store.GetRubric(ctx, version)
	if err != nil {
		return scoring.Rubric{}, store.RubricVersion{}, err
	}
	r, err := b.parse(rv)
	return r, rv, err
}

// parseStoredRubric parses a stored document. Only valid rubrics are
// stored, so a failure here means a damaged database, not bad input.
func parseStoredRubric(rv store.RubricVersion) (scoring.Rubric, error) {
	r, err := scoring.ParseRubric(rv.Document)
	if err != nil {
		return scoring.Rubric{}, errors.Join(errors.New("stored rubric does not parse"), err)
	}
	return r, nil
}
