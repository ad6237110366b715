// Package websession holds what the console and the HTTP API agree on about
// a browser session: the cookie that carries its credential and the CSRF
// proof a state-changing request must send with it.
//
// The cookie holds the session's secret credential (qs_<id>_<secret>), which
// both forward to the in-process gRPC server as the bearer token, so a
// browser call passes the same authentication and permission table as any
// gRPC client. A cookie is sent by the browser on cross-site requests too,
// so a call authenticated by it must also prove it came from our own page:
// the CSRF token is derived from the secret, which a page of another site
// cannot read.
package websession

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
)

// CookieName is the session cookie.
const CookieName = "qa_session"

// CSRFHeader carries the CSRF token on script calls; forms send it in the
// CSRFField form field.
const (
	CSRFHeader = "X-QA-CSRF"
	CSRFField  = "csrf"
)

// CSRFToken derives the CSRF token of a session credential. It is a
// one-way function of the secret: knowing it does not reveal the secret.
func CSRFToken(credential string) string {
	sum := sha256.Sum256([]byte("qa-sampling csrf v1\x00" + credential))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ValidCSRF reports whether proof is the CSRF token of credential.
func ValidCSRF(credential, proof string) bool {
	if credential == "" || proof == "" {
		return false
	}
	want := CSRFToken(credential)
	return subtle.ConstantTimeCompare([]byte(want), []byte(proof)) == 1
}

// Credential returns the session credential of the request's cookie.
func Credential(r *http.Request) (string, bool) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return "", false
	}
	return c.Value, true
}

// CrossSite reports whether the browser says the request came from another
// site (Sec-Fetch-Site, then Origin against Host). Requests without either
// header (non-browser clients) are not cross-site by this test; they carry
// no cookie of ours unless they were given one.
func CrossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return false
	case "cross-site", "same-site":
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return origin == "null"
	}
	u, err := url.Parse(origin)
	if err != nil {
		return true
	}
	return u.Host != r.Host
}

// SetCookie stores credential in the session cookie: HttpOnly so scripts
// cannot read it, SameSite=Lax so other sites' POSTs do not carry it, and
// Secure when served over TLS.
func SetCookie(w http.ResponseWriter, credential string, secure bool) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: credential, Path: "/",
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
}

// ClearCookie removes the session cookie.
func ClearCookie(w http.ResponseWriter, secure bool) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
}
