package console

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
	"qa-sampling/websession"
)

// TestUsedLinkWhileSignedInOffersTheWayHome: opening a used sign-in link
// again (from the mail, say) while the session still works says so and
// links to the home page, rather than only "invalid link".
func TestUsedLinkWhileSignedInOffersTheWayHome(t *testing.T) {
	h := startHarness(t)
	sup := h.as(store.RoleSupervisor, "sup-1")
	used := sup.post("/login", url.Values{"code": {"used-or-expired-code"}})
	used.mustContain(t, http.StatusUnauthorized, "已使用或已过期", `id="signed-in-already"`, "客服主管 · sup-1", `href="/inbox"`)

	resp, err := http.PostForm(h.URL+"/login", url.Values{"code": {"used-or-expired-code"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if !strings.Contains(string(body), `<link rel="icon" href="data:,">`) {
		t.Error("pages name no icon: every page load asks for /favicon.ico and gets a 404")
	}
	if resp.StatusCode != http.StatusUnauthorized || strings.Contains(string(body), "signed-in-already") {
		t.Fatalf("signed out, a used link answered %d and offers a session:\n%s", resp.StatusCode, body)
	}
}

// inSession makes v use a real console session (from a login link) rather
// than an API token.
func inSession(t *testing.T, h *harness, v *visitor) string {
	t.Helper()
	access := qav1.NewAccessServiceClient(h.conn)
	link, err := access.CreateLoginLink(h.Admin, &qav1.CreateLoginLinkRequest{Role: string(v.Role), Subject: v.Subject})
	if err != nil {
		t.Fatal(err)
	}
	s, err := access.StartSession(t.Context(), &qav1.StartSessionRequest{Credential: &qav1.StartSessionRequest_LoginCode{LoginCode: link.GetCode()}, UserAgent: "test"})
	if err != nil {
		t.Fatal(err)
	}
	v.Credential, v.CSRF = s.GetSecret(), websession.CSRFToken(s.GetSecret())
	u, _ := url.Parse(h.URL)
	v.Client.Jar.SetCookies(u, []*http.Cookie{{Name: websession.CookieName, Value: v.Credential, Path: "/"}})
	return s.GetSession().GetId()
}

// TestEndedSessionSaysWhy: a page opened after an admin ended the session
// leads to the sign-in form, which says the session ended (not a bare
// form); the admin's session list marks their own session and asks
// before ending someone's by name.
func TestEndedSessionSaysWhy(t *testing.T) {
	h := startHarness(t)
	lead := h.as(store.RoleAdmin, "lead")
	own := inSession(t, h, lead)
	sup := h.as(store.RoleSupervisor, "sup-1")
	theirs := inSession(t, h, sup)
	sup.get("/inbox").mustContain(t, http.StatusOK)

	list := lead.get("/access")
	list.mustContain(t, http.StatusOK, `id="this-session"`, "结束 客服主管 · sup-1 的这个会话?", "这是你正在使用的会话")
	if !strings.Contains(list.Body, `action="/access/sessions/`+own+`/revoke" class="inline" data-confirm="这是你正在使用的会话`) {
		t.Fatalf("the admin's own session is not the one marked:\n%s", list.Body)
	}
	lead.follow(t, lead.post("/access/sessions/"+theirs+"/revoke", nil)).mustContain(t, http.StatusOK)

	gone := sup.get("/inbox")
	if gone.Code != http.StatusSeeOther || !strings.HasPrefix(gone.Location, "/login?ended=1") || !strings.Contains(gone.Location, "next=%2Finbox") {
		t.Fatalf("an ended session's page answered %d to %q", gone.Code, gone.Location)
	}
	sup.get(gone.Location).mustContain(t, http.StatusOK, "你的登录已结束", `name="next" value="/inbox"`)
	// Never signed in: the form says nothing has ended.
	resp, err := http.Get(h.URL + "/inbox")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if loc := resp.Request.URL.String(); strings.Contains(loc, "ended") {
		t.Fatalf("a visitor never signed in was sent to %s", loc)
	}
}

// TestDeactivatedInspectorIsToldSo: an inspector whose account the QA
// lead deactivated gets a page saying so on their queue, not "not found".
func TestDeactivatedInspectorIsToldSo(t *testing.T) {
	h := startHarness(t)
	insp := h.as(store.RoleInspector, "insp-2")
	insp.get("/queue").mustContain(t, http.StatusOK)
	lead := h.as(store.RoleAdmin, "lead")
	lead.follow(t, lead.post("/inspectors/active", url.Values{"id": {"insp-2"}, "name": {"刘洋"}, "active": {"0"}}))
	insp.get("/queue").mustContain(t, http.StatusForbidden, "你的质检员账号已停用")
	// Another inspector's item is still just not found.
	h.as(store.RoleInspector, "insp-1").get("/review/999999").mustContain(t, http.StatusNotFound, "找不到")
}

// TestSigningInAgainEndsTheReplacedSession: a new sign-in in a browser
// that holds a session ends that session instead of leaving it valid
// until it idles out.
func TestSigningInAgainEndsTheReplacedSession(t *testing.T) {
	h := startHarness(t)
	sup := h.as(store.RoleSupervisor, "sup-1")
	inSession(t, h, sup)
	old := sup.Credential
	access := qav1.NewAccessServiceClient(h.conn)
	link, err := access.CreateLoginLink(h.Admin, &qav1.CreateLoginLinkRequest{Role: "supervisor", Subject: "sup-1"})
	if err != nil {
		t.Fatal(err)
	}
	if p := sup.post("/login", url.Values{"code": {link.GetCode()}}); p.Code != http.StatusSeeOther {
		t.Fatalf("signing in again answered %d", p.Code)
	}
	_, err = access.WhoAmI(metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+old), &qav1.WhoAmIRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("the replaced session still works: WhoAmI = %v", err)
	}
}
