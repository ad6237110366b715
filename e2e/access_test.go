package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	qav1 "qa-sampling/proto/qa/v1"
	qaserver "qa-sampling/server"
	"qa-sampling/store"
	"qa-sampling/store/sqlstore"
)

// accessClients are the clients a console session's holder uses.
type accessClients struct {
	access   qav1.AccessServiceClient
	review   qav1.ReviewServiceClient
	sampling qav1.SamplingServiceClient
}

func (s *server) accessClients() accessClients {
	s.t.Helper()
	conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { _ = conn.Close() })
	return accessClients{qav1.NewAccessServiceClient(conn), qav1.NewReviewServiceClient(conn), qav1.NewSamplingServiceClient(conn)}
}

// loginLink runs `qad login-link --json` and returns the URL and code.
func (s *server) loginLink(role, subject string) (string, string) {
	s.t.Helper()
	out, err := exec.Command(bin("qad"), "login-link", "--db", s.dsn, "--role", role, "--subject", subject,
		"--public-url", "http://"+s.httpAddr, "--json").Output()
	if err != nil {
		s.t.Fatalf("qad login-link: %v", err)
	}
	var link struct{ URL, Code string }
	if err := json.Unmarshal(out, &link); err != nil {
		s.t.Fatalf("qad login-link --json printed %q: %v", out, err)
	}
	return link.URL, link.Code
}

// qadOut runs a qad admin command and returns its stdout.
func (s *server) qadOut(args ...string) string {
	s.t.Helper()
	out, err := exec.Command(bin("qad"), append(args, "--db", s.dsn)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("qad %q: %v\n%s", args, err, out)
	}
	return string(out)
}

func startByCode(ctx context.Context, c accessClients, code string) (*qav1.StartSessionResponse, error) {
	return c.access.StartSession(ctx, &qav1.StartSessionRequest{Credential: &qav1.StartSessionRequest_LoginCode{LoginCode: code}, UserAgent: "e2e"})
}

func whoAmI(ctx context.Context, c accessClients, secret string) error {
	_, err := c.access.WhoAmI(withToken(ctx, secret), &qav1.WhoAmIRequest{})
	return err
}

// refusedWithin waits until secret is refused, at most within; it fails
// the test if it is still admitted then.
func refusedWithin(t *testing.T, c accessClients, secret string, within time.Duration, what string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := whoAmI(t.Context(), c, secret)
		if status.Code(err) == codes.Unauthenticated {
			return
		}
		if err != nil {
			t.Fatalf("%s: %v, want Unauthenticated", what, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still admitted after %s", what, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestConsoleSessions signs people in with one-time links and tokens on a
// real qad, on SQLite and PostgreSQL: the session is a bearer with its
// person's permissions, the link works once and not once expired, and
// revoking the session, the person's token or leaving it idle ends it.
func TestConsoleSessions(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { consoleSessions(t, b.dsn) })
	}
}

func consoleSessions(t *testing.T, dsn string) {
	const cacheTTL = time.Second
	srv := startServer(t, dsn, "--token-cache-ttl", cacheTTL.String(), "--session-idle", "3s")
	c := srv.accessClients()
	ctx := t.Context()
	admin := srv.token("admin", "lead")

	// A link works once.
	url, code := srv.loginLink("inspector", "insp-1")
	if url != "http://"+srv.httpAddr+"/login/"+code {
		t.Errorf("login link %q, want it under the public URL", url)
	}
	started, err := startByCode(ctx, c, code)
	if err != nil {
		t.Fatalf("StartSession with a fresh link: %v", err)
	}
	insp := started.GetSecret()
	if _, err := startByCode(ctx, c, code); status.Code(err) != codes.Unauthenticated {
		t.Errorf("the link's second use: %v, want Unauthenticated", err)
	}

	// The session is a bearer with the inspector's permissions.
	who, err := c.access.WhoAmI(withToken(ctx, insp), &qav1.WhoAmIRequest{})
	if err != nil || who.GetRole() != "inspector" || who.GetSubject() != "insp-1" || who.GetSession().GetId() != started.GetSession().GetId() {
		t.Fatalf("WhoAmI as the session = %v, %v", who, err)
	}
	if _, err := c.review.ListQueue(withToken(ctx, insp), &qav1.ListQueueRequest{}); err != nil {
		t.Errorf("ListQueue as the inspector's session: %v", err)
	}
	if _, err := c.sampling.ListRuns(withToken(ctx, insp), &qav1.ListRunsRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("ListRuns as the inspector's session: %v, want PermissionDenied", err)
	}
	if _, err := c.access.ListSessions(withToken(ctx, insp), &qav1.ListSessionsRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("ListSessions as the inspector's session: %v, want PermissionDenied", err)
	}

	// An expired link is refused (made a day ago, straight in the store,
	// as qad login-link would have).
	st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	oldCode, oldLink, err := qaserver.NewLoginLink(store.RoleSupervisor, "sup-1", "test", time.Now().Add(-25*time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateLoginLink(ctx, oldLink); err != nil {
		t.Fatal(err)
	}
	if _, err := startByCode(ctx, c, oldCode); status.Code(err) != codes.Unauthenticated {
		t.Errorf("an expired link: %v, want Unauthenticated", err)
	}

	// Idle expiry: used every second, the session outlives the 3 s idle
	// timeout; left alone for it, it ends.
	_, supCode := srv.loginLink("supervisor", "sup-1")
	supStart, err := startByCode(ctx, c, supCode)
	if err != nil {
		t.Fatal(err)
	}
	sup := supStart.GetSecret()
	for range 5 {
		time.Sleep(time.Second)
		if err := whoAmI(ctx, c, sup); err != nil {
			t.Fatalf("a session in use every second after %s: %v", time.Since(supStart.GetSession().GetCreatedAt().AsTime()), err)
		}
		if err := whoAmI(ctx, c, insp); err != nil {
			t.Fatalf("the inspector's session in use: %v", err)
		}
	}
	// The supervisor leaves; the inspector goes on working.
	for range 4 {
		time.Sleep(time.Second)
		if err := whoAmI(ctx, c, insp); err != nil {
			t.Fatalf("the inspector's session in use: %v", err)
		}
	}
	if err := whoAmI(ctx, c, sup); status.Code(err) != codes.Unauthenticated {
		t.Errorf("a session idle for the idle timeout: %v, want Unauthenticated", err)
	}

	// `qad session list` shows the live session; revoking it with `qad
	// session revoke` ends it within the cache TTL.
	inspID := started.GetSession().GetId()
	list := srv.qadOut("session", "list", "--session-idle", "3s")
	if !strings.Contains(list, inspID+"  inspector  insp-1") || strings.Contains(list, supStart.GetSession().GetId()) {
		t.Errorf("qad session list (live only):\n%s", list)
	}
	if all := srv.qadOut("session", "list", "--all", "--json", "--session-idle", "3s"); strings.Count(all, "\n") != 2 || !strings.Contains(all, `"state":"expired"`) {
		t.Errorf("qad session list --all --json:\n%s", all)
	}
	if out := srv.qadOut("session", "revoke", inspID); out != "revoked session "+inspID+"\n" {
		t.Errorf("qad session revoke: %q", out)
	}
	refusedWithin(t, c, insp, cacheTTL+time.Second, "a session revoked with qad session revoke")

	// Revoking the person's token ends their sessions, however begun.
	supTok := srv.token("supervisor", "sup-2")
	byToken, err := c.access.StartSession(ctx, &qav1.StartSessionRequest{Credential: &qav1.StartSessionRequest_Token{Token: supTok}})
	if err != nil {
		t.Fatalf("StartSession with a token: %v", err)
	}
	_, code2 := srv.loginLink("supervisor", "sup-2")
	byLink, err := startByCode(ctx, c, code2)
	if err != nil {
		t.Fatal(err)
	}
	tokenID, _, _ := strings.Cut(strings.TrimPrefix(supTok, "qa_"), "_")
	out, stderr, exit := srv.qactl(admin, "access", "revoke-token", tokenID)
	if exit != 0 || !strings.Contains(out, "ended 2 console session(s)") {
		t.Fatalf("qactl access revoke-token: %d %q %q", exit, out, stderr)
	}
	for name, secret := range map[string]string{"token-started": byToken.GetSecret(), "link-started": byLink.GetSecret()} {
		if err := whoAmI(ctx, c, secret); status.Code(err) != codes.Unauthenticated {
			t.Errorf("the %s session after its person's token was revoked: %v, want Unauthenticated", name, err)
		}
	}

	// An ingest token cannot sign in.
	ingest := srv.token("ingest", "bridge")
	if _, err := c.access.StartSession(ctx, &qav1.StartSessionRequest{Credential: &qav1.StartSessionRequest_Token{Token: ingest}}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("StartSession with an ingest token: %v, want PermissionDenied", err)
	}

	// Signing out, and qactl with a session.
	_, code3 := srv.loginLink("admin", "lead")
	adminSession, err := startByCode(ctx, c, code3)
	if err != nil {
		t.Fatal(err)
	}
	if out, stderr, exit := srv.qactl(adminSession.GetSecret(), "whoami"); exit != 0 || !strings.HasPrefix(out, "lead (admin)\nconsole session "+adminSession.GetSession().GetId()) {
		t.Errorf("qactl whoami with a session: %d %q %q", exit, out, stderr)
	}
	if out, stderr, exit := srv.qactl(adminSession.GetSecret(), "access", "login-link", "--role", "supervisor", "--subject", "sup-9"); exit != 0 || !strings.HasPrefix(out, "http://"+srv.httpAddr+"/login/") {
		t.Errorf("qactl access login-link as an admin session: %d %q %q", exit, out, stderr)
	}
	if _, err := c.access.EndSession(withToken(ctx, adminSession.GetSecret()), &qav1.EndSessionRequest{}); err != nil {
		t.Fatalf("EndSession: %v", err)
	}
	if err := whoAmI(ctx, c, adminSession.GetSecret()); status.Code(err) != codes.Unauthenticated {
		t.Errorf("after signing out: %v, want Unauthenticated", err)
	}

	// The audit trail names each step, never a secret.
	events, err := st.ListAudit(ctx, store.AuditFilter{Entity: "session"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range events {
		actions = append(actions, ev.Action)
		for _, secret := range []string{insp, sup, byToken.GetSecret(), adminSession.GetSecret()} {
			_, part, _ := strings.Cut(strings.TrimPrefix(secret, "qs_"), "_")
			if strings.Contains(ev.Detail, part) {
				t.Errorf("%s event holds a session secret", ev.Action)
			}
		}
	}
	for _, want := range []string{"session.start", "session.revoke", "session.end"} {
		if !slices.Contains(actions, want) {
			t.Errorf("no %s event among %q", want, actions)
		}
	}
}

// TestAccessPermissions calls every AccessService method as every role,
// with a token and without, over gRPC and HTTP; StartSession alone needs
// no bearer.
func TestAccessPermissions(t *testing.T) {
	srv := startServer(t, backends(t)[0].dsn, "--token-cache-ttl", "0s")
	c := srv.accessClients()
	subjects := map[string]string{"admin": "lead", "ingest": "bridge", "inspector": "insp-1", "supervisor": "sup-1"}
	tokens := map[string]string{}
	for role, subject := range subjects {
		tokens[role] = srv.token(role, subject)
	}
	// Each call is harmless; ok is what an allowed role gets from it.
	calls := map[string]rpcCall{
		"WhoAmI":          unary(c.access.WhoAmI, &qav1.WhoAmIRequest{}, codes.OK),
		"EndSession":      unary(c.access.EndSession, &qav1.EndSessionRequest{}, codes.FailedPrecondition), // a token is no session
		"CreateLoginLink": unary(c.access.CreateLoginLink, &qav1.CreateLoginLinkRequest{Role: "ingest", Subject: "x"}, codes.InvalidArgument),
		"ListSessions":    unary(c.access.ListSessions, &qav1.ListSessionsRequest{}, codes.OK),
		"RevokeSession":   unary(c.access.RevokeSession, &qav1.RevokeSessionRequest{Id: "nope"}, codes.NotFound),
		"ListTokens":      unary(c.access.ListTokens, &qav1.ListTokensRequest{}, codes.OK),
		"RevokeToken":     unary(c.access.RevokeToken, &qav1.RevokeTokenRequest{Id: "nope"}, codes.NotFound),
	}
	allowed := map[string][]string{
		"WhoAmI":          {"admin", "ingest", "inspector", "supervisor"},
		"EndSession":      {"admin", "inspector", "supervisor"},
		"CreateLoginLink": {"admin"}, "ListSessions": {"admin"}, "RevokeSession": {"admin"}, "ListTokens": {"admin"}, "RevokeToken": {"admin"},
	}
	for _, m := range qav1.AccessService_ServiceDesc.Methods {
		if _, ok := calls[m.MethodName]; !ok && m.MethodName != "StartSession" {
			t.Errorf("AccessService/%s is not in the matrix", m.MethodName)
		}
	}
	api := srv.httpAPI()
	for method, call := range calls {
		for role, tok := range tokens {
			want := codes.PermissionDenied
			if slices.Contains(allowed[method], role) {
				want = call.ok
			}
			if got := codeOf(call.call(withToken(t.Context(), tok))); got != want {
				t.Errorf("%s as %s: %v, want %v", method, role, got, want)
			}
		}
		if got := codeOf(call.call(t.Context())); got != codes.Unauthenticated {
			t.Errorf("%s without a token: %v, want Unauthenticated", method, got)
		}
		if status, _ := api.call("", "/qa.v1.AccessService/"+method, "{}"); status != http.StatusUnauthorized {
			t.Errorf("HTTP %s without a token: %d, want 401", method, status)
		}
	}
	// StartSession is public, on both transports; the code is the credential.
	if _, err := c.access.StartSession(t.Context(), &qav1.StartSessionRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("StartSession without a credential: %v, want InvalidArgument", err)
	}
	_, code := srv.loginLink("supervisor", "sup-1")
	httpStatus, body := api.call("", "/qa.v1.AccessService/StartSession", `{"login_code":"`+code+`","user_agent":"curl"}`)
	secret, _ := body["secret"].(string)
	if httpStatus != http.StatusOK || !strings.HasPrefix(secret, "qs_") {
		t.Fatalf("HTTP StartSession: %d %v", httpStatus, body)
	}
	if _, out := api.call(secret, "/qa.v1.AccessService/WhoAmI", "{}"); out["subject"] != "sup-1" {
		t.Errorf("HTTP WhoAmI with the session: %v", out)
	}
	if httpStatus, _ := api.call("", "/qa.v1.AccessService/StartSession", `{"login_code":"`+code+`"}`); httpStatus != http.StatusUnauthorized {
		t.Errorf("HTTP StartSession with a used code: %d, want 401", httpStatus)
	}
}
