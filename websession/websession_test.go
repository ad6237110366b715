package websession

import (
	"net/http/httptest"
	"testing"
)

func TestCSRFTokenIsBoundToTheCredential(t *testing.T) {
	a, b := CSRFToken("qs_a_secret1"), CSRFToken("qs_a_secret2")
	if a == b {
		t.Fatal("two credentials share a CSRF token")
	}
	if !ValidCSRF("qs_a_secret1", a) {
		t.Fatal("the credential's own token is refused")
	}
	if ValidCSRF("qs_a_secret1", b) || ValidCSRF("qs_a_secret1", "") || ValidCSRF("", CSRFToken("")) {
		t.Fatal("a wrong or empty proof is accepted")
	}
}

func TestCrossSite(t *testing.T) {
	cases := []struct {
		fetchSite, origin string
		want              bool
	}{
		{"same-origin", "", false},
		{"none", "", false},
		{"cross-site", "", true},
		{"same-site", "", true},
		{"", "http://qa.example:7390", false},
		{"", "http://evil.example", true},
		{"", "null", true},
		{"", "", false},
	}
	for _, c := range cases {
		r := httptest.NewRequest("POST", "http://qa.example:7390/logout", nil)
		if c.fetchSite != "" {
			r.Header.Set("Sec-Fetch-Site", c.fetchSite)
		}
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if got := CrossSite(r); got != c.want {
			t.Errorf("Sec-Fetch-Site %q Origin %q: cross-site %v, want %v", c.fetchSite, c.origin, got, c.want)
		}
	}
}
