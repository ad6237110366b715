package server

import (
	"crypto/sha256"
	"sync"
	"time"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/report"
	"qa-sampling/store"
)

// teamReportCacheSize bounds the team reports kept: a 2,000-agent report
// over 12 weeks holds about 1 MB of answer and 30 MB of reviews.
const teamReportCacheSize = 4

// teamReportRereadAll is how many feedback records written since a cached
// report make the next one read every cell again rather than look
// through the records for the agents they touched.
const teamReportRereadAll = 1000

// teamReportCache keeps recent team reports. A large team's report reads
// every report cell of its agents and weeks (an admin's report of 2,000
// agents × 12 weeks costs about 150 ms), yet nothing in it changes
// between two finalised reviews, and people open the team page far more
// often than that. A report stays good while:
//   - no feedback record was written since it was computed. Report cells
//     change only in the transaction that writes feedback (finalising,
//     including a dispute's re-score retracting the old review), and
//     records commit in id order, so the newest id, read from the store
//     before the cells, covers other replicas' writes too;
//   - the agents it covers are the same ones with the same names and team
//     (the key's digest: an agent moving team or supervisor, or renamed,
//     makes a new key).
//
// Two callers who may see the same agents share an entry: the report
// holds nothing else of the caller.
type teamReportCache struct {
	mu      sync.Mutex
	entries map[teamReportKey]*teamReportEntry
	tick    uint64
	// flights serialise the computations of each key (acquire).
	flights map[teamReportKey]*teamReportFlight
}

type teamReportFlight struct {
	mu   sync.Mutex
	refs int
}

type teamReportKey struct {
	team   string
	weeks  string // first and last week
	agents [sha256.Size]byte
}

type teamReportEntry struct {
	report *qav1.TeamReport
	// feedback is the newest feedback id when the report was computed.
	feedback int64
	// byAgent are the reviews the report counted, by agent. After a
	// review, the next report of the key re-reads only the cells of the
	// agents whose records were written since (changedSince) and counts
	// the rest from here.
	byAgent map[string][]report.Review
	// severity is the fit its adjusted means and marks come from.
	severity *severityEntry
	used     uint64
	// spec computes the report again (the background refresh); usedAt
	// says when a caller last got it, so that the refresh leaves reports
	// nobody reads.
	spec   *teamReportSpec
	usedAt time.Time
}

// teamReportKeyOf keys the report of agents (the caller's agents of the
// team, in ListAgents order) over weeks.
func teamReportKeyOf(team string, weeks []string, agents []store.Agent) teamReportKey {
	h := sha256.New()
	for _, a := range agents {
		// NUL never occurs in ids or names (ingest rejects control
		// characters), so the fields cannot run into each other.
		_, _ = h.Write([]byte(a.AgentID + "\x00" + a.Name + "\x00" + a.TeamID + "\x00"))
	}
	k := teamReportKey{team: team, weeks: weeks[0] + "/" + weeks[len(weeks)-1]}
	h.Sum(k.agents[:0])
	return k
}

// get returns the entry of k, nil if none. Its fields are shared: read
// them, never change them.
func (c *teamReportCache) get(k teamReportKey) *teamReportEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok {
		return nil
	}
	c.tick++
	e.used = c.tick
	e.usedAt = time.Now()
	return e
}

func (c *teamReportCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// acquire waits until no other caller computes the report of k, and
// holds k until release is called.
func (c *teamReportCache) acquire(k teamReportKey) (release func()) {
	c.mu.Lock()
	if c.flights == nil {
		c.flights = make(map[teamReportKey]*teamReportFlight)
	}
	f := c.flights[k]
	if f == nil {
		f = &teamReportFlight{}
		c.flights[k] = f
	}
	f.refs++
	c.mu.Unlock()
	f.mu.Lock()
	return func() {
		f.mu.Unlock()
		c.mu.Lock()
		if f.refs--; f.refs == 0 {
			delete(c.flights, k)
		}
		c.mu.Unlock()
	}
}

// stale lists the specs of the reports computed before feedback record
// last that a caller got within the last window.
func (c *teamReportCache) stale(last int64, window time.Duration) []*teamReportSpec {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*teamReportSpec
	for _, e := range c.entries {
		if e.feedback < last && e.spec != nil && time.Since(e.usedAt) < window {
			out = append(out, e.spec)
		}
	}
	return out
}

// put keeps r, computed from byAgent by spec when feedback was the newest
// record, as the entry of spec's key, dropping the least recently used
// entry when full. None may be changed afterwards: every caller who gets
// them shares them.
func (c *teamReportCache) put(spec *teamReportSpec, feedback int64, severity *severityEntry, r *qav1.TeamReport, byAgent map[string][]report.Review) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[teamReportKey]*teamReportEntry)
	}
	k := spec.key
	if _, ok := c.entries[k]; !ok && len(c.entries) >= teamReportCacheSize {
		var oldest teamReportKey
		first := true
		for key, e := range c.entries {
			if first || e.used < c.entries[oldest].used {
				oldest, first = key, false
			}
		}
		delete(c.entries, oldest)
	}
	c.tick++
	c.entries[k] = &teamReportEntry{report: r, feedback: feedback, severity: severity, byAgent: byAgent, used: c.tick, spec: spec, usedAt: time.Now()}
}
