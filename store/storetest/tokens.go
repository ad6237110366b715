package storetest

import (
	"errors"
	"qa-sampling/store"
	"reflect"
	"slices"
	"testing"
	"time"
)

func testTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	if toks, err := s.ListTokens(ctx); err != nil || len(toks) != 0 {
		t.Fatalf("ListTokens on an empty store = %v, %v", toks, err)
	}
	mk := func(id string, role store.Role, created time.Time) store.Token {
		return store.Token{ID: id, SecretHash: []byte("hash-of-" + id + "\x00\xff"), Role: role, Subject: "subj-" + id, CreatedAt: created}
	}
	// Created out of time order; ms-truncated so they compare equal after
	// the round trip.
	t0 := base.Truncate(time.Millisecond)
	toks := []store.Token{
		mk("tok-b", store.RoleInspector, t0.Add(2*time.Hour)),
		mk("tok-a", store.RoleAdmin, t0),
		mk("tok-c", store.RoleSupervisor, t0.Add(time.Hour)),
		mk("tok-d", store.RoleIngest, t0.Add(3*time.Hour)),
	}
	for _, tok := range toks {
		if err := s.CreateToken(ctx, tok, "qad"); err != nil {
			t.Fatalf("CreateToken(%s): %v", tok.ID, err)
		}
	}
	dup := mk("tok-a", store.RoleIngest, t0.Add(time.Minute))
	if err := s.CreateToken(ctx, dup, "qad"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateToken(duplicate id) error = %v, want ErrConflict", err)
	}
	got, err := s.GetToken(ctx, "tok-a")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, toks[1]) {
		t.Fatalf("GetToken = %+v, want %+v (the duplicate must not overwrite)", got, toks[1])
	}

	revokedAt := t0.Add(5 * time.Hour)
	if _, err := s.RevokeToken(ctx, "tok-c", revokedAt, "qad"); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	if _, err := s.RevokeToken(ctx, "tok-c", revokedAt.Add(time.Hour), "qad"); err != nil {
		t.Fatalf("RevokeToken again: %v", err)
	}
	got, err = s.GetToken(ctx, "tok-c")
	if err != nil {
		t.Fatal(err)
	}
	if !got.RevokedAt.Equal(revokedAt) {
		t.Errorf("RevokedAt = %s, want the first revocation %s", got.RevokedAt, revokedAt)
	}

	list, err := s.ListTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tok := range list {
		ids = append(ids, tok.ID)
	}
	if want := []string{"tok-a", "tok-c", "tok-b", "tok-d"}; !slices.Equal(ids, want) {
		t.Fatalf("ListTokens order = %q, want oldest first %q", ids, want)
	}
	for _, tok := range list {
		if revoked := !tok.RevokedAt.IsZero(); revoked != (tok.ID == "tok-c") {
			t.Errorf("%s revoked = %v", tok.ID, revoked)
		}
		if tok.ID == "tok-b" && !reflect.DeepEqual(tok, toks[0]) {
			t.Errorf("listed %+v, want %+v", tok, toks[0])
		}
	}
}

func testTokenNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.GetToken(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetToken(unknown) error = %v, want ErrNotFound", err)
	}
	if _, err := s.RevokeToken(ctx, "nope", base, "qad"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeToken(unknown) error = %v, want ErrNotFound", err)
	}
}
