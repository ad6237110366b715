package storetest

import (
	"crypto/sha256"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"qa-sampling/store"
)

// sessionTests cover store.SessionStore and what RevokeToken does to
// sessions; Run adds them to its list.
var sessionTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"LoginLinkRedeemedOnce", testLoginLinkRedeemedOnce},
	{"LoginLinkExpired", testLoginLinkExpired},
	{"LoginLinkConcurrentRedeem", testLoginLinkConcurrentRedeem},
	{"Sessions", testSessions},
	{"SessionTouch", testSessionTouch},
	{"SessionList", testSessionList},
	{"RevokeTokenEndsSessions", testRevokeTokenEndsSessions},
	{"RevokeSessionsOfSubject", testRevokeSessionsOfSubject},
	{"SessionAudit", testSessionAudit},
}

// sessionT0 is whole milliseconds, so times compare equal after the round trip.
var sessionT0 = base.Truncate(time.Millisecond)

func digest(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

func loginLink(id string, role store.Role, subject string, created time.Time) store.LoginLink {
	return store.LoginLink{ID: id, CodeHash: digest("code-" + id), Role: role, Subject: subject,
		CreatedAt: created, ExpiresAt: created.Add(24 * time.Hour), CreatedBy: "lead"}
}

// newSession is a session to be stored, started at created; redeeming a
// link fills role, subject and origin.
func newSession(id string, created time.Time) store.Session {
	return store.Session{ID: id, SecretHash: digest("secret-" + id), CreatedAt: created, LastSeenAt: created,
		ExpiresAt: created.Add(7 * 24 * time.Hour), UserAgent: "Mozilla/5.0 " + id}
}

// tokenSession is a session started with token tokenID.
func tokenSession(id string, role store.Role, subject, tokenID string, created time.Time) store.Session {
	s := newSession(id, created)
	s.Role, s.Subject, s.StartedBy, s.StartedWith = role, subject, store.StartedByToken, tokenID
	return s
}

func mustCreateSession(t *testing.T, s store.Store, sess store.Session) {
	t.Helper()
	if err := s.CreateSession(t.Context(), sess); err != nil {
		t.Fatalf("CreateSession(%s): %v", sess.ID, err)
	}
}

func getSession(t *testing.T, s store.Store, id string) store.Session {
	t.Helper()
	got, err := s.GetSession(t.Context(), id)
	if err != nil {
		t.Fatalf("GetSession(%s): %v", id, err)
	}
	return got
}

func testLoginLinkRedeemedOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	link := loginLink("link-1", store.RoleInspector, "insp-1", sessionT0)
	if err := s.CreateLoginLink(ctx, link); err != nil {
		t.Fatalf("CreateLoginLink: %v", err)
	}
	dupID := loginLink("link-1", store.RoleAdmin, "lead", sessionT0)
	dupID.CodeHash = digest("other code")
	if err := s.CreateLoginLink(ctx, dupID); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateLoginLink(same id) = %v, want ErrConflict", err)
	}
	dupCode := loginLink("link-2", store.RoleAdmin, "lead", sessionT0)
	dupCode.CodeHash = link.CodeHash
	if err := s.CreateLoginLink(ctx, dupCode); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateLoginLink(same code) = %v, want ErrConflict", err)
	}

	at := sessionT0.Add(time.Hour)
	sess := newSession("sess-1", at)
	// What the caller sets for role and origin is overwritten by the link's.
	sess.Role, sess.Subject = store.RoleAdmin, "someone else"
	got, err := s.ConsumeLoginLink(ctx, link.CodeHash, sess)
	if err != nil {
		t.Fatalf("ConsumeLoginLink: %v", err)
	}
	want := sess
	want.Role, want.Subject, want.StartedBy, want.StartedWith = store.RoleInspector, "insp-1", store.StartedByLink, "link-1"
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ConsumeLoginLink = %+v, want %+v", got, want)
	}
	if stored := getSession(t, s, "sess-1"); !reflect.DeepEqual(stored, want) {
		t.Fatalf("GetSession = %+v, want %+v", stored, want)
	}

	again := newSession("sess-2", at.Add(time.Minute))
	if _, err := s.ConsumeLoginLink(ctx, link.CodeHash, again); !errors.Is(err, store.ErrLoginLinkUsed) {
		t.Errorf("second ConsumeLoginLink = %v, want ErrLoginLinkUsed", err)
	}
	if _, err := s.ConsumeLoginLink(ctx, digest("never issued"), again); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsumeLoginLink(unknown code) = %v, want ErrNotFound", err)
	}
	if _, err := s.GetSession(ctx, "sess-2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused redemption stored its session: GetSession = %v", err)
	}
	if _, err := s.GetSession(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSession(unknown) = %v, want ErrNotFound", err)
	}
}

func testLoginLinkExpired(t *testing.T, s store.Store) {
	ctx := t.Context()
	link := loginLink("link-x", store.RoleSupervisor, "sup-1", sessionT0)
	if err := s.CreateLoginLink(ctx, link); err != nil {
		t.Fatal(err)
	}
	// Expired at ExpiresAt itself.
	if _, err := s.ConsumeLoginLink(ctx, link.CodeHash, newSession("late", link.ExpiresAt)); !errors.Is(err, store.ErrLoginLinkExpired) {
		t.Fatalf("ConsumeLoginLink at expiry = %v, want ErrLoginLinkExpired", err)
	}
	if _, err := s.GetSession(ctx, "late"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an expired link stored a session: GetSession = %v", err)
	}
	// A refused attempt does not use the link up: a millisecond earlier works.
	got, err := s.ConsumeLoginLink(ctx, link.CodeHash, newSession("in-time", link.ExpiresAt.Add(-time.Millisecond)))
	if err != nil || got.Subject != "sup-1" {
		t.Fatalf("ConsumeLoginLink just before expiry = %+v, %v", got, err)
	}
}

// Of many simultaneous redemptions of one code exactly one gets a session.
func testLoginLinkConcurrentRedeem(t *testing.T, s store.Store) {
	ctx := t.Context()
	link := loginLink("link-c", store.RoleAdmin, "lead", sessionT0)
	if err := s.CreateLoginLink(ctx, link); err != nil {
		t.Fatal(err)
	}
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.ConsumeLoginLink(ctx, link.CodeHash, newSession("race-"+string(rune('a'+i)), sessionT0.Add(time.Minute)))
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrLoginLinkUsed):
			t.Errorf("redemption %d: %v, want success or ErrLoginLinkUsed", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d redemptions succeeded, want exactly 1", won)
	}
	list, err := s.ListSessions(ctx, store.SessionFilter{})
	if err != nil || len(list) != 1 {
		t.Fatalf("ListSessions after the race = %d sessions, %v; want 1", len(list), err)
	}
}

func testSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	sess := tokenSession("s-1", store.RoleAdmin, "lead", "tok-1", sessionT0)
	mustCreateSession(t, s, sess)
	if err := s.CreateSession(ctx, tokenSession("s-1", store.RoleInspector, "x", "tok-2", sessionT0)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateSession(duplicate id) = %v, want ErrConflict", err)
	}
	if got := getSession(t, s, "s-1"); !reflect.DeepEqual(got, sess) {
		t.Fatalf("GetSession = %+v, want %+v", got, sess)
	}

	revokedAt := sessionT0.Add(time.Hour)
	got, err := s.RevokeSession(ctx, "s-1", revokedAt, "admin-2")
	if err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	if !got.RevokedAt.Equal(revokedAt) || got.Subject != "lead" {
		t.Errorf("RevokeSession = %+v, want it revoked at %s", got, revokedAt)
	}
	// Again, and signing out of it: the first time stays.
	if got, err := s.RevokeSession(ctx, "s-1", revokedAt.Add(time.Hour), "admin-2"); err != nil || !got.RevokedAt.Equal(revokedAt) {
		t.Errorf("RevokeSession again = %+v, %v; want the first time %s", got, err, revokedAt)
	}
	if got, err := s.EndSession(ctx, "s-1", revokedAt.Add(2*time.Hour)); err != nil || !got.RevokedAt.Equal(revokedAt) {
		t.Errorf("EndSession of a revoked session = %+v, %v; want the first time %s", got, err, revokedAt)
	}

	mustCreateSession(t, s, tokenSession("s-2", store.RoleSupervisor, "sup-1", "tok-3", sessionT0))
	endedAt := sessionT0.Add(3 * time.Hour)
	if got, err := s.EndSession(ctx, "s-2", endedAt); err != nil || !got.RevokedAt.Equal(endedAt) {
		t.Errorf("EndSession = %+v, %v; want it ended at %s", got, err, endedAt)
	}
	if _, err := s.RevokeSession(ctx, "nope", endedAt, "lead"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeSession(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.EndSession(ctx, "nope", endedAt); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EndSession(unknown) = %v, want ErrNotFound", err)
	}
}

func testSessionTouch(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreateSession(t, s, tokenSession("s-t", store.RoleInspector, "insp-1", "tok-1", sessionT0))
	later := sessionT0.Add(10 * time.Minute)
	if err := s.TouchSession(ctx, "s-t", later); err != nil {
		t.Fatalf("TouchSession: %v", err)
	}
	// A touch from a replica whose call started earlier does not go back.
	if err := s.TouchSession(ctx, "s-t", later.Add(-5*time.Minute)); err != nil {
		t.Fatalf("TouchSession (earlier): %v", err)
	}
	if got := getSession(t, s, "s-t").LastSeenAt; !got.Equal(later) {
		t.Errorf("LastSeenAt = %s, want %s", got, later)
	}
	if _, err := s.RevokeSession(ctx, "s-t", later.Add(time.Minute), "lead"); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchSession(ctx, "s-t", later.Add(2*time.Minute)); err != nil {
		t.Fatalf("TouchSession (revoked): %v", err)
	}
	if got := getSession(t, s, "s-t").LastSeenAt; !got.Equal(later) {
		t.Errorf("a revoked session was touched: LastSeenAt = %s, want %s", got, later)
	}
	if err := s.TouchSession(ctx, "nope", later); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TouchSession(unknown) = %v, want ErrNotFound", err)
	}
}

func sessionIDs(list []store.Session) []string {
	ids := make([]string, len(list))
	for i, sess := range list {
		ids[i] = sess.ID
	}
	return ids
}

func testSessionList(t *testing.T, s store.Store) {
	ctx := t.Context()
	if list, err := s.ListSessions(ctx, store.SessionFilter{}); err != nil || len(list) != 0 {
		t.Fatalf("ListSessions on an empty store = %v, %v", list, err)
	}
	now := sessionT0.Add(30 * 24 * time.Hour)
	idle := 12 * time.Hour
	mk := func(id string, role store.Role, subject string, created, lastSeen time.Time) store.Session {
		sess := tokenSession(id, role, subject, "tok", created)
		sess.LastSeenAt = lastSeen
		return sess
	}
	sessions := []store.Session{
		mk("live-old", store.RoleInspector, "insp-1", now.Add(-5*24*time.Hour), now.Add(-time.Hour)),
		mk("live-new", store.RoleSupervisor, "sup-1", now.Add(-time.Hour), now.Add(-time.Minute)),
		mk("idle", store.RoleInspector, "insp-1", now.Add(-2*24*time.Hour), now.Add(-idle)),
		mk("too-old", store.RoleInspector, "insp-2", now.Add(-8*24*time.Hour), now.Add(-time.Minute)),
		mk("revoked", store.RoleAdmin, "insp-1", now.Add(-2*time.Hour), now.Add(-time.Minute)),
	}
	for _, sess := range sessions {
		mustCreateSession(t, s, sess)
	}
	if _, err := s.RevokeSession(ctx, "revoked", now.Add(-time.Minute), "lead"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		f    store.SessionFilter
		want []string
	}{
		{"all, newest first", store.SessionFilter{}, []string{"live-new", "revoked", "idle", "live-old", "too-old"}},
		{"limit", store.SessionFilter{Limit: 2}, []string{"live-new", "revoked"}},
		{"subject", store.SessionFilter{Subject: "insp-1"}, []string{"revoked", "idle", "live-old"}},
		{"subject and role", store.SessionFilter{Subject: "insp-1", Role: store.RoleInspector}, []string{"idle", "live-old"}},
		{"active", store.SessionFilter{ActiveAt: now, IdleTimeout: idle}, []string{"live-new", "live-old"}},
		{"active without an idle timeout", store.SessionFilter{ActiveAt: now}, []string{"live-new", "idle", "live-old"}},
		{"active of a subject", store.SessionFilter{ActiveAt: now, IdleTimeout: idle, Subject: "insp-1"}, []string{"live-old"}},
	} {
		list, err := s.ListSessions(ctx, c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := sessionIDs(list); !slices.Equal(got, c.want) {
			t.Errorf("%s: ListSessions = %q, want %q", c.name, got, c.want)
		}
	}
	list, err := s.ListSessions(ctx, store.SessionFilter{Subject: "sup-1"})
	if err != nil || len(list) != 1 || !reflect.DeepEqual(list[0], sessions[1]) {
		t.Errorf("listed %+v, %v; want %+v", list, err, sessions[1])
	}
}

// Revoking a token ends the sessions of its role and subject, and only
// those, in the same call.
func testRevokeTokenEndsSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	tok := store.Token{ID: "tok-p", SecretHash: digest("tok-p"), Role: store.RoleSupervisor, Subject: "sup-1", CreatedAt: sessionT0}
	if err := s.CreateToken(ctx, tok, "qad"); err != nil {
		t.Fatal(err)
	}
	mustCreateSession(t, s, tokenSession("by-token", store.RoleSupervisor, "sup-1", "tok-p", sessionT0))
	link := loginLink("link-p", store.RoleSupervisor, "sup-1", sessionT0)
	if err := s.CreateLoginLink(ctx, link); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsumeLoginLink(ctx, link.CodeHash, newSession("by-link", sessionT0)); err != nil {
		t.Fatal(err)
	}
	mustCreateSession(t, s, tokenSession("ended-before", store.RoleSupervisor, "sup-1", "tok-p", sessionT0))
	if _, err := s.EndSession(ctx, "ended-before", sessionT0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	mustCreateSession(t, s, tokenSession("other-role", store.RoleInspector, "sup-1", "tok-q", sessionT0))
	mustCreateSession(t, s, tokenSession("other-person", store.RoleSupervisor, "sup-2", "tok-r", sessionT0))

	at := sessionT0.Add(time.Hour)
	n, err := s.RevokeToken(ctx, "tok-p", at, "lead")
	if err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	if n != 2 {
		t.Errorf("RevokeToken ended %d sessions, want 2 (by-token, by-link)", n)
	}
	for id, want := range map[string]time.Time{
		"by-token": at, "by-link": at, "ended-before": sessionT0.Add(time.Minute), "other-role": {}, "other-person": {},
	} {
		if got := getSession(t, s, id).RevokedAt; !got.Equal(want) {
			t.Errorf("session %s RevokedAt = %s, want %s", id, got, want)
		}
	}

	// A session started after the revocation (by a link) is ended by
	// revoking the token again, which keeps the token's first time.
	link2 := loginLink("link-p2", store.RoleSupervisor, "sup-1", at)
	if err := s.CreateLoginLink(ctx, link2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsumeLoginLink(ctx, link2.CodeHash, newSession("after", at.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	if n, err := s.RevokeToken(ctx, "tok-p", at.Add(time.Hour), "lead"); err != nil || n != 1 {
		t.Errorf("RevokeToken again = %d, %v; want 1 session ended", n, err)
	}
	if got, err := s.GetToken(ctx, "tok-p"); err != nil || !got.RevokedAt.Equal(at) {
		t.Errorf("token after a second revoke = %+v, %v; want revoked at %s", got, err, at)
	}
	if n, err := s.RevokeToken(ctx, "nope", at, "lead"); !errors.Is(err, store.ErrNotFound) || n != 0 {
		t.Errorf("RevokeToken(unknown) = %d, %v; want ErrNotFound", n, err)
	}
}

func testRevokeSessionsOfSubject(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreateSession(t, s, tokenSession("a", store.RoleInspector, "p-1", "t", sessionT0))
	mustCreateSession(t, s, tokenSession("b", store.RoleSupervisor, "p-1", "t", sessionT0))
	mustCreateSession(t, s, tokenSession("c", store.RoleInspector, "p-2", "t", sessionT0))
	at := sessionT0.Add(time.Hour)
	if n, err := s.RevokeSessions(ctx, store.RoleSupervisor, "p-1", at, "lead"); err != nil || n != 1 {
		t.Fatalf("RevokeSessions(supervisor p-1) = %d, %v; want 1", n, err)
	}
	if n, err := s.RevokeSessions(ctx, "", "p-1", at, "lead"); err != nil || n != 1 {
		t.Fatalf("RevokeSessions(p-1, any role) = %d, %v; want the 1 left", n, err)
	}
	if n, err := s.RevokeSessions(ctx, "", "p-1", at, "lead"); err != nil || n != 0 {
		t.Fatalf("RevokeSessions again = %d, %v; want 0", n, err)
	}
	if got := getSession(t, s, "c").RevokedAt; !got.IsZero() {
		t.Errorf("another person's session was revoked at %s", got)
	}
}

// Every change is audited with its actor, and no event holds a secret or
// its digest; touching is not audited.
func testSessionAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	before, err := s.ListAudit(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	link := loginLink("link-a", store.RoleInspector, "insp-1", sessionT0)
	if err := s.CreateLoginLink(ctx, link); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsumeLoginLink(ctx, link.CodeHash, newSession("s-link", sessionT0.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsumeLoginLink(ctx, link.CodeHash, newSession("s-again", sessionT0.Add(time.Minute))); err == nil {
		t.Fatal("a used link was redeemed again")
	}
	if err := s.TouchSession(ctx, "s-link", sessionT0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	mustCreateSession(t, s, tokenSession("s-tok", store.RoleInspector, "insp-1", "tok-i", sessionT0))
	if _, err := s.EndSession(ctx, "s-tok", sessionT0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeSession(ctx, "s-link", sessionT0.Add(2*time.Hour), "lead"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeSession(ctx, "s-link", sessionT0.Add(3*time.Hour), "lead"); err != nil {
		t.Fatal(err)
	}
	tok := store.Token{ID: "tok-i", SecretHash: digest("tok-i"), Role: store.RoleInspector, Subject: "insp-1", CreatedAt: sessionT0}
	if err := s.CreateToken(ctx, tok, "qad:root"); err != nil {
		t.Fatal(err)
	}
	mustCreateSession(t, s, tokenSession("s-tok2", store.RoleInspector, "insp-1", "tok-i", sessionT0))
	if _, err := s.RevokeToken(ctx, "tok-i", sessionT0.Add(4*time.Hour), "qad:root"); err != nil {
		t.Fatal(err)
	}

	all, err := s.ListAudit(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got := all[len(before):]
	want := []event{
		{"lead", "login_link.create", "login_link", "link-a"},
		{"insp-1", "session.start", "session", "s-link"},
		{"insp-1", "session.start", "session", "s-tok"},
		{"insp-1", "session.end", "session", "s-tok"},
		{"lead", "session.revoke", "session", "s-link"},
		{"qad:root", "token.create", "token", "tok-i"},
		{"insp-1", "session.start", "session", "s-tok2"},
		{"qad:root", "token.revoke", "token", "tok-i"},
		{"qad:root", "session.revoke", "session", "s-tok2"},
	}
	var gotEvents []event
	for _, ev := range got {
		gotEvents = append(gotEvents, eventOf(ev))
	}
	if !slices.Equal(gotEvents, want) {
		t.Fatalf("events:\n%v\nwant\n%v", gotEvents, want)
	}
	details := make([]map[string]any, len(got))
	for i, ev := range got {
		details[i] = detailOf(t, ev)
		for _, secret := range []string{"secret-", "code-"} {
			if strings.Contains(ev.Detail, secret) {
				t.Errorf("%s detail holds a secret: %s", eventOf(ev), ev.Detail)
			}
		}
		for _, field := range []string{"secret_hash", "code_hash", "SecretHash", "CodeHash"} {
			if _, ok := details[i][field]; ok {
				t.Errorf("%s detail holds %s: %s", eventOf(ev), field, ev.Detail)
			}
		}
	}
	expect := []map[string]any{
		{"login_link_id": "link-a", "role": "inspector", "subject": "insp-1", "expires_at": sessionT0.Add(24 * time.Hour).Format(time.RFC3339Nano)},
		{"session_id": "s-link", "role": "inspector", "subject": "insp-1", "started_by": "link", "started_with": "link-a", "user_agent": "Mozilla/5.0 s-link"},
		{"session_id": "s-tok", "started_by": "token", "started_with": "tok-i"},
		{"session_id": "s-tok", "revoked_at": sessionT0.Add(time.Hour).Format(time.RFC3339Nano)},
		{"session_id": "s-link", "revoked_at": sessionT0.Add(2 * time.Hour).Format(time.RFC3339Nano)},
		nil,
		nil,
		nil,
		{"session_id": "s-tok2", "token_id": "tok-i", "subject": "insp-1"},
	}
	for i, keys := range expect {
		for key, want := range keys {
			if g := details[i][key]; g != want {
				t.Errorf("%s detail %s = %v, want %v (detail %s)", eventOf(got[i]), key, g, want, got[i].Detail)
			}
		}
	}
}
