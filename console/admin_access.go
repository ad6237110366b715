package console

import (
	"net/http"
	"strings"

	qav1 "qa-sampling/proto/qa/v1"
)

// accessData is the access page: API tokens, console sessions, and the
// form that makes a login link.
type accessData struct {
	Flash    *flash
	Tokens   []*qav1.Token
	Sessions []*qav1.Session
	// AllSessions: ended sessions are listed too.
	AllSessions bool
	// Link is a login link just made: shown this once, never stored by
	// the console nor put in a URL.
	Link *qav1.CreateLoginLinkResponse
	// LinkRole and LinkSubject are the form's values.
	LinkRole, LinkSubject string
	// NotAnInspector: the link is for the inspector role but no active
	// inspector has that id, so their queue would be empty (a typo, or
	// someone not added yet).
	NotAnInspector bool
	Errs           fieldErrs
}

// Roles are the roles a person can sign in to the console as.
func (accessData) Roles() []string { return []string{"inspector", "supervisor", "admin"} }

func (c *Console) accessPage(v *View) error {
	v.Title, v.Nav = "admin.access.title", "access"
	d, err := c.accessData(v)
	if err != nil {
		return err
	}
	d.Flash = flashOf(v)
	return c.render(v, "admin/access.html", d)
}

func (c *Console) accessData(v *View) (*accessData, error) {
	all := v.R.URL.Query().Get("sessions") == "all"
	tokens, err := v.API.Access.ListTokens(v.Ctx, &qav1.ListTokensRequest{})
	if err != nil {
		return nil, err
	}
	sessions, err := v.API.Access.ListSessions(v.Ctx, &qav1.ListSessionsRequest{ActiveOnly: !all})
	if err != nil {
		return nil, err
	}
	return &accessData{Tokens: tokens.GetTokens(), Sessions: sessions.GetSessions(), AllSessions: all, LinkRole: "inspector", Errs: fieldErrs{}}, nil
}

// accessCreateLink makes a one-time login link and shows it on the page
// it answers with (no redirect: the link must not travel in a URL).
func (c *Console) accessCreateLink(v *View) error {
	v.Title, v.Nav = "admin.access.title", "access"
	role, subject := v.R.PostFormValue("role"), strings.TrimSpace(v.R.PostFormValue("subject"))
	resp, err := v.API.Access.CreateLoginLink(v.Ctx, &qav1.CreateLoginLinkRequest{Role: role, Subject: subject})
	d, derr := c.accessData(v)
	if derr != nil {
		return derr
	}
	d.LinkRole, d.LinkSubject = role, subject
	if err != nil {
		if !addFormErrors(d.Errs, err) {
			return err
		}
		return c.renderCode(v, http.StatusBadRequest, "admin/access.html", d)
	}
	d.Link = resp
	if role == "inspector" {
		known, err := isActiveInspector(v, subject)
		if err != nil {
			return err
		}
		d.NotAnInspector = !known
	}
	// The page holds a secret: no cache, no referrer (the console's
	// defaults), and nothing that would re-show it.
	return c.render(v, "admin/access.html", d)
}

func (c *Console) accessRevokeToken(v *View) error {
	resp, err := v.API.Access.RevokeToken(v.Ctx, &qav1.RevokeTokenRequest{Id: v.R.PathValue("id")})
	if err != nil {
		return err
	}
	return redirectDone(v, "/access", "token_revoked", int(resp.GetSessionsEnded()))
}

func (c *Console) accessRevokeSession(v *View) error {
	if _, err := v.API.Access.RevokeSession(v.Ctx, &qav1.RevokeSessionRequest{Id: v.R.PathValue("id")}); err != nil {
		return err
	}
	return redirectDone(v, "/access", "session_revoked", 0)
}

// isActiveInspector reports whether id is an active inspector's.
func isActiveInspector(v *View, id string) (bool, error) {
	req := &qav1.ListInspectorsRequest{PageSize: 1000}
	for {
		resp, err := v.API.Sampling.ListInspectors(v.Ctx, req)
		if err != nil {
			return false, err
		}
		for _, in := range resp.GetInspectors() {
			if in.GetId() == id {
				return in.GetActive(), nil
			}
		}
		if resp.GetNextPageToken() == "" {
			return false, nil
		}
		req.PageToken = resp.GetNextPageToken()
	}
}
