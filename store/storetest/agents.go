package storetest

import (
	"errors"
	"fmt"
	"qa-sampling/store"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func testUpsertAgentsOutcomes(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := begin()
	out, err := s.UpsertAgents(ctx, []store.Agent{agent("a1")})
	if err != nil || !slices.Equal(out, []store.Outcome{store.Created}) {
		t.Fatalf("create: %v, %v", out, err)
	}
	w = w.close()
	got, err := s.GetAgent(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	created := got.UpdatedAt
	w.check(t, "UpdatedAt after create", created)
	got.UpdatedAt = time.Time{}
	if got != agent("a1") {
		t.Fatalf("GetAgent = %+v, want %+v", got, agent("a1"))
	}

	cases := []struct {
		name   string
		change func(a *store.Agent)
		want   store.Outcome
	}{
		{"same fields", func(*store.Agent) {}, store.Unchanged},
		{"name", func(a *store.Agent) { a.Name = "Renamed" }, store.Updated},
		{"same again", func(a *store.Agent) { a.Name = "Renamed" }, store.Unchanged},
		{"team", func(a *store.Agent) { a.Name, a.TeamID = "Renamed", "team-2" }, store.Updated},
		{"supervisor", func(a *store.Agent) { a.Name, a.TeamID, a.SupervisorID = "Renamed", "team-2", "sup-2" }, store.Updated},
		{"hired on cleared", func(a *store.Agent) { a.Name, a.TeamID, a.SupervisorID, a.HiredOn = "Renamed", "team-2", "sup-2", "" }, store.Updated},
		{"deactivated", func(a *store.Agent) {
			a.Name, a.TeamID, a.SupervisorID, a.HiredOn, a.Active = "Renamed", "team-2", "sup-2", "", false
		}, store.Updated},
		{"inactive unchanged", func(a *store.Agent) {
			a.Name, a.TeamID, a.SupervisorID, a.HiredOn, a.Active = "Renamed", "team-2", "sup-2", "", false
		}, store.Unchanged},
	}
	last := created
	for _, tc := range cases {
		a := agent("a1")
		tc.change(&a)
		w := begin()
		out, err := s.UpsertAgents(ctx, []store.Agent{a})
		w = w.close()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(out, []store.Outcome{tc.want}) {
			t.Errorf("%s: outcome %v, want %v", tc.name, out, tc.want)
		}
		got, err := s.GetAgent(ctx, "a1")
		if err != nil {
			t.Fatal(err)
		}
		if tc.want == store.Updated {
			w.check(t, tc.name+": UpdatedAt", got.UpdatedAt)
		} else if !got.UpdatedAt.Equal(last) {
			t.Errorf("%s: UpdatedAt moved from %s to %s without a change", tc.name, last, got.UpdatedAt)
		}
		last = got.UpdatedAt
		got.UpdatedAt = time.Time{}
		if got != a {
			t.Errorf("%s: GetAgent = %+v, want %+v", tc.name, got, a)
		}
	}
}

func testUpsertAgentsInputOrder(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "b", "d")
	changed := agent("d")
	changed.Name = "D changed"
	// Not sorted by id, so a backend that reorders internally must map back.
	out, err := s.UpsertAgents(ctx, []store.Agent{agent("e"), changed, agent("b"), agent("a")})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Outcome{store.Created, store.Updated, store.Unchanged, store.Created}
	if !slices.Equal(out, want) {
		t.Fatalf("outcomes = %v, want %v", out, want)
	}
	out, err = s.UpsertAgents(ctx, nil)
	if err != nil || len(out) != 0 {
		t.Fatalf("empty UpsertAgents = %v, %v; want no outcomes, no error", out, err)
	}
}

func testEnsureAgents(t *testing.T, s store.Store) {
	ctx := t.Context()
	known := agent("known")
	known.Active = false
	if _, err := s.UpsertAgents(ctx, []store.Agent{known}); err != nil {
		t.Fatal(err)
	}
	before, err := s.GetAgent(ctx, "known")
	if err != nil {
		t.Fatal(err)
	}
	w := begin()
	// Duplicates and known ids are fine.
	if err := s.EnsureAgents(ctx, []string{"new1", "known", "new2", "new1"}); err != nil {
		t.Fatalf("EnsureAgents: %v", err)
	}
	w = w.close()
	after, err := s.GetAgent(ctx, "known")
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("EnsureAgents changed a known agent: %+v, was %+v", after, before)
	}
	for _, id := range []string{"new1", "new2"} {
		got, err := s.GetAgent(ctx, id)
		if err != nil {
			t.Fatalf("GetAgent(%q) after EnsureAgents: %v", id, err)
		}
		w.check(t, id+" UpdatedAt", got.UpdatedAt)
		got.UpdatedAt = time.Time{}
		if want := (store.Agent{AgentID: id, Active: true}); got != want {
			t.Errorf("ensured agent = %+v, want %+v", got, want)
		}
	}
	// A full record later fills the minimal one in.
	out, err := s.UpsertAgents(ctx, []store.Agent{agent("new1")})
	if err != nil || !slices.Equal(out, []store.Outcome{store.Updated}) {
		t.Errorf("UpsertAgents over an ensured agent = %v, %v; want [updated]", out, err)
	}
	if err := s.EnsureAgents(ctx, nil); err != nil {
		t.Errorf("EnsureAgents(nil): %v", err)
	}
}

func testExistingAgents(t *testing.T, s store.Store) {
	ctx := t.Context()
	// More ids than one statement's worth, so chunking is exercised.
	var ids, query []string
	for i := range 1234 {
		ids = append(ids, fmt.Sprintf("agent-%05d", i))
	}
	if err := s.EnsureAgents(ctx, ids); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(ids); i += 2 {
		query = append(query, ids[i])
	}
	for i := range 100 {
		query = append(query, fmt.Sprintf("ghost-%03d", i))
	}
	got, err := s.ExistingAgents(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != (len(ids)+1)/2 {
		t.Errorf("ExistingAgents found %d, want %d", len(got), (len(ids)+1)/2)
	}
	for _, id := range query {
		if got[id] != strings.HasPrefix(id, "agent-") {
			t.Errorf("ExistingAgents[%q] = %v", id, got[id])
		}
	}
	got, err = s.ExistingAgents(ctx, nil)
	if err != nil || len(got) != 0 {
		t.Errorf("ExistingAgents(nil) = %v, %v", got, err)
	}
}

func testGetAgentNotFound(t *testing.T, s store.Store) {
	_, err := s.GetAgent(t.Context(), "nobody")
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetAgent(unknown) error = %v, want ErrNotFound", err)
	}
}

func testListAgents(t *testing.T, s store.Store) {
	ctx := t.Context()
	if got, err := s.ListAgents(ctx); err != nil || len(got) != 0 {
		t.Fatalf("ListAgents on an empty store = %v, %v", got, err)
	}
	inactive := agent("b2")
	inactive.Active = false
	if _, err := s.UpsertAgents(ctx, []store.Agent{agent("c3"), inactive, agent("a1")}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListAgents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range got {
		ids = append(ids, a.AgentID)
		if a.AgentID == "b2" && a.Active {
			t.Error("b2 listed as active")
		}
		if a.TeamID != "team-1" || a.SupervisorID != "sup-1" || a.HiredOn != "2024-03-01" {
			t.Errorf("agent %s lost fields: %+v", a.AgentID, a)
		}
	}
	if !reflect.DeepEqual(ids, []string{"a1", "b2", "c3"}) {
		t.Fatalf("ListAgents ids = %v, want a1 b2 c3 (inactive included, by id)", ids)
	}
}
