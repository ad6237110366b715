package console

import (
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/websession"
)

func (c *Console) signInRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /login", c.signInForm)
	mux.HandleFunc("POST /login", c.signInSubmit)
	mux.HandleFunc("GET /login/{code}", c.signInByLink)
	mux.HandleFunc("POST /logout", c.signOut)
}

// signInData is the sign-in page's data.
type signInData struct {
	Next  string
	Error string
	// Already: the visitor still has a working session (they opened a used
	// link again, e.g. from the mail): who they are and their home page.
	Already *Who
	Home    string
}

func (c *Console) signInForm(w http.ResponseWriter, r *http.Request) {
	v := c.newView(w, r)
	v.Title = "signin.title"
	d := signInData{Next: nextOf(r)}
	if r.URL.Query().Get("ended") != "" {
		d.Error = v.T("signin.ended")
	}
	if err := c.render(v, "signin.html", d); err != nil {
		c.renderError(v, err)
	}
}

// signInSubmit starts a session from a pasted login code or API token.
func (c *Console) signInSubmit(w http.ResponseWriter, r *http.Request) {
	v := c.newView(w, r)
	v.Title = "signin.title"
	if websession.CrossSite(r) {
		c.renderStatus(v, http.StatusForbidden, "error.csrf")
		return
	}
	secret := strings.TrimSpace(r.PostFormValue("code"))
	req := &qav1.StartSessionRequest{UserAgent: r.UserAgent()}
	if strings.HasPrefix(secret, "qa_") {
		req.Credential = &qav1.StartSessionRequest_Token{Token: secret}
	} else {
		// A whole link pasted in works too.
		if i := strings.LastIndex(secret, "/login/"); i >= 0 {
			secret = secret[i+len("/login/"):]
		}
		req.Credential = &qav1.StartSessionRequest_LoginCode{LoginCode: secret}
	}
	c.startSession(v, req, nextOf(r))
}

// signInByLink shows the page of a one-time link, whose script submits
// the code at once: a person who opens the link is signed in and lands on
// their home page, while a chat app or mail scanner that only fetches the
// URL to preview it does not use the link up. The POST's redirect leaves
// no secret in the address bar.
func (c *Console) signInByLink(w http.ResponseWriter, r *http.Request) {
	v := c.newView(w, r)
	v.Title = "signin.title"
	if err := c.render(v, "signin_link.html", signInLink{Code: r.PathValue("code")}); err != nil {
		c.renderError(v, err)
	}
}

// signInLink is the link page's data.
type signInLink struct{ Code string }

func (c *Console) startSession(v *View, req *qav1.StartSessionRequest, next string) {
	resp, err := qav1.NewAccessServiceClient(c.cfg.Conn).StartSession(v.R.Context(), req)
	if err != nil {
		key := "signin.failed"
		if status.Code(err) == codes.Unavailable {
			key = "error.unavailable"
		}
		v.W.Header().Set("Cache-Control", "no-store")
		d := signInData{Next: next, Error: v.T(key)}
		if cred, ok := websession.Credential(v.R); ok {
			if who, err := c.whoAmI(v.R.Context(), cred, v.R); err == nil {
				d.Already, d.Home = &who, homeOf(who.Role)
			}
		}
		if rerr := c.renderCode(v, http.StatusUnauthorized, "signin.html", d); rerr != nil {
			c.renderError(v, rerr)
		}
		return
	}
	// The browser's previous session, replaced by the cookie, is ended
	// rather than left valid until it idles out (only a session ends
	// this way; a pasted API token stays a token).
	if old, ok := websession.Credential(v.R); ok && strings.HasPrefix(old, "qs_") {
		if _, err := qav1.NewAccessServiceClient(c.cfg.Conn).EndSession(c.callContext(v.R, old), &qav1.EndSessionRequest{}); err != nil &&
			status.Code(err) != codes.Unauthenticated {
			c.log.WarnContext(v.R.Context(), "ending the replaced session", "err", err)
		}
	}
	websession.SetCookie(v.W, resp.GetSecret(), c.cfg.Secure)
	target := homeOf(resp.GetSession().GetRole())
	if next != "" {
		target = next
	}
	http.Redirect(v.W, v.R, target, http.StatusSeeOther)
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	v := c.newView(w, r)
	cred, ok := websession.Credential(r)
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if websession.CrossSite(r) || !websession.ValidCSRF(cred, r.PostFormValue(websession.CSRFField)) {
		c.renderStatus(v, http.StatusForbidden, "error.csrf")
		return
	}
	_, err := qav1.NewAccessServiceClient(c.cfg.Conn).EndSession(c.callContext(r, cred), &qav1.EndSessionRequest{})
	if err != nil && status.Code(err) != codes.Unauthenticated {
		c.log.WarnContext(r.Context(), "ending a session", "err", err)
	}
	websession.ClearCookie(w, c.cfg.Secure)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// nextOf is the local path to go to after signing in.
func nextOf(r *http.Request) string {
	next := r.FormValue("next")
	if !localPath(next) {
		return ""
	}
	return next
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
