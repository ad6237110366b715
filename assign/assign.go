// Package assign chooses the inspector for each picked conversation (SPEC
// §2 step 3): never the agent's own supervisor, not the inspector who
// reviewed the agent last where another can take it, and otherwise the
// least loaded. Pure logic: the caller supplies loads and history.
package assign

import "slices"

// Assigner hands out picks one at a time, counting each assignment into
// the loads so that a week's picks spread evenly.
type Assigner struct {
	loads map[string]int
	ids   []string // active inspectors, sorted, for a deterministic order
}

// New starts from the current open-item count of each active inspector.
func New(loads map[string]int) *Assigner {
	a := &Assigner{loads: make(map[string]int, len(loads))}
	for id, n := range loads {
		a.loads[id] = n
		a.ids = append(a.ids, id)
	}
	slices.Sort(a.ids)
	return a
}

// Assign returns the inspector for a pick of an agent, or "" when no
// active inspector may take it. recent lists the inspectors of the agent's
// earlier picks, newest first.
//
// Rotation outranks load: an inspector who reviewed the agent recently is
// chosen only when every other eligible one also has, and then the one
// whose review lies furthest back. The load difference this costs is at
// most the few picks of one agent, while the same pair week after week
// would make the scores one person's opinion.
func (a *Assigner) Assign(supervisorID string, recent []string) string {
	best := ""
	bestRecency, bestLoad := 0, 0
	for _, id := range a.ids {
		if id == supervisorID {
			continue
		}
		recency := 0 // 0: not recent; otherwise higher is more recent
		if i := slices.Index(recent, id); i >= 0 {
			recency = len(recent) - i
		}
		load := a.loads[id]
		if best == "" || recency < bestRecency || (recency == bestRecency && load < bestLoad) {
			best, bestRecency, bestLoad = id, recency, load
		}
	}
	if best != "" {
		a.loads[best]++
	}
	return best
}

// Release lowers an inspector's load after an item left their queue.
func (a *Assigner) Release(id string) {
	if a.loads[id] > 0 {
		a.loads[id]--
	}
}

// Other chooses the inspector for one more item of an agent by the rules
// of Assign, never excluded: the inspector who released the item, wrote
// the review being disputed, or was deactivated. "" if no one may.
func Other(loads map[string]int, supervisorID string, recent []string, excluded string) string {
	others := make(map[string]int, len(loads))
	for id, n := range loads {
		if id != excluded {
			others[id] = n
		}
	}
	return New(others).Assign(supervisorID, recent)
}
