package console

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"qa-sampling/store"
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
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || strings.Contains(string(body), "signed-in-already") {
		t.Fatalf("signed out, a used link answered %d and offers a session:\n%s", resp.StatusCode, body)
	}
}
