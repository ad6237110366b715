package console

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// adminOnly is the role of the QA lead's pages.
var adminOnly = []string{"admin"}

// adminRoutes registers the QA lead's pages (see /work/CONSOLE.md's URL
// map). Every change is a POST form that redirects back with a result
// message (flash); the services audit it.
func (c *Console) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /weeks", c.page(adminOnly, c.weeksPage))
	mux.HandleFunc("GET /weeks/{week}", c.page(adminOnly, c.weekPicksPage))
	mux.HandleFunc("GET /weeks/{week}/preview", c.page(adminOnly, c.weekPreviewPage))
	mux.HandleFunc("POST /weeks/run", c.page(adminOnly, c.weekRun))
	mux.HandleFunc("POST /weeks/go", c.page(adminOnly, c.weekGo))

	mux.HandleFunc("GET /policy", c.page(adminOnly, c.policyPage))
	mux.HandleFunc("POST /policy", c.page(adminOnly, c.policySubmit))
	mux.HandleFunc("GET /checks", c.page(adminOnly, c.checksPage))
	mux.HandleFunc("POST /checks", c.page(adminOnly, c.checksSubmit))

	mux.HandleFunc("GET /rubrics", c.page(adminOnly, c.rubricsPage))
	mux.HandleFunc("GET /rubrics/new", c.page(adminOnly, c.rubricNewPage))
	mux.HandleFunc("POST /rubrics/new", c.page(adminOnly, c.rubricSubmit))
	mux.HandleFunc("POST /rubrics/{version}/activate", c.page(adminOnly, c.rubricActivate))

	mux.HandleFunc("GET /inspectors", c.page(adminOnly, c.inspectorsPage))
	mux.HandleFunc("POST /inspectors/reassign", c.page(adminOnly, c.inspectorsReassign))
	mux.HandleFunc("POST /inspectors/active", c.page(adminOnly, c.inspectorSetActive))
	mux.HandleFunc("POST /inspectors/add", c.page(adminOnly, c.inspectorAdd))

	mux.HandleFunc("GET /checks/report", c.page(adminOnly, c.checkReportPage))
	mux.HandleFunc("POST /checks/report/rerun", c.page(adminOnly, c.checkReportRerun))
	mux.HandleFunc("GET /disputes", c.page(adminOnly, c.disputesPage))
	mux.HandleFunc("GET /audit", c.page(adminOnly, c.auditPage))

	mux.HandleFunc("GET /access", c.page(adminOnly, c.accessPage))
	mux.HandleFunc("POST /access/link", c.page(adminOnly, c.accessCreateLink))
	mux.HandleFunc("POST /access/tokens/{id}/revoke", c.page(adminOnly, c.accessRevokeToken))
	mux.HandleFunc("POST /access/sessions/{id}/revoke", c.page(adminOnly, c.accessRevokeSession))
}

// flash is the result of a change, shown once on the page the change
// redirected to. It travels in the query string as a message key (and at
// most a count), never as text: nobody can make the console say something
// by crafting a link.
type flash struct {
	Text string
}

var flashName = regexp.MustCompile(`^[a-z_]{1,40}$`)

// flashOf reads the flash of a redirect: ?done=<name>[&n=<count>], the
// message admin.flash.<name> with the count filled in.
func flashOf(v *View) *flash {
	q := v.R.URL.Query()
	name := q.Get("done")
	if !flashName.MatchString(name) {
		return nil
	}
	key := "admin.flash." + name
	catalogMu.RLock()
	_, ok := catalog[key]
	catalogMu.RUnlock()
	if !ok {
		return nil
	}
	text := v.T(key)
	if strings.Contains(text, "%d") {
		n, _ := strconv.Atoi(q.Get("n"))
		text = fmt.Sprintf(text, n)
	}
	return &flash{Text: text}
}

// redirectDone sends the browser back to path with a flash.
func redirectDone(v *View, path, name string, n int) error {
	u, err := url.Parse(path)
	if err != nil || !localPath(path) {
		u = &url.URL{Path: "/"}
	}
	q := u.Query()
	q.Set("done", name)
	if n != 0 {
		q.Set("n", strconv.Itoa(n))
	}
	u.RawQuery = q.Encode()
	http.Redirect(v.W, v.R, u.String(), http.StatusSeeOther)
	return nil
}

// fieldErrs are the API's field messages of a refused form, by field path
// as the API spells it ("policy.rules[2]").
type fieldErrs map[string]string

// For returns the messages for field and its parts (field[2],
// field.key), each prefixed with the part when it is not field itself.
func (f fieldErrs) For(field string) []string {
	var out []string
	for _, k := range f.sorted() {
		switch {
		case k == field:
			out = append(out, f[k])
		case strings.HasPrefix(k, field+"[") || strings.HasPrefix(k, field+"."):
			out = append(out, strings.TrimPrefix(k, field)+": "+f[k])
		}
	}
	return out
}

// Only returns the message for field itself, not its parts.
func (f fieldErrs) Only(field string) []string {
	if m, ok := f[field]; ok {
		return []string{m}
	}
	return nil
}

// Except returns the messages of fields not under any of shown, with
// their field, for a list at the top of the form.
func (f fieldErrs) Except(shown ...string) []string {
	var out []string
	for _, k := range f.sorted() {
		claimed := false
		for _, s := range shown {
			if k == s || strings.HasPrefix(k, s+"[") || strings.HasPrefix(k, s+".") {
				claimed = true
				break
			}
		}
		if !claimed {
			if k == "" {
				out = append(out, f[k])
			} else {
				out = append(out, k+": "+f[k])
			}
		}
	}
	return out
}

func (f fieldErrs) sorted() []string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// pageLinks builds the paging links of a list: the same query with
// another page_token.
type pageLinks struct {
	Next  string
	First string
}

func pagingOf(r *http.Request, next string) pageLinks {
	var p pageLinks
	q := r.URL.Query()
	q.Del("done")
	q.Del("n")
	if next != "" {
		q.Set("page_token", next)
		p.Next = r.URL.Path + "?" + q.Encode()
	}
	if r.URL.Query().Get("page_token") != "" {
		q.Del("page_token")
		p.First = r.URL.Path
		if enc := q.Encode(); enc != "" {
			p.First += "?" + enc
		}
	}
	return p
}

// formInt reads a whole number from a form field; empty is 0.
func formInt(r *http.Request, name string) (int64, bool) {
	s := strings.TrimSpace(r.PostFormValue(name))
	if s == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// splitList reads a list typed one item a line or separated by commas
// (Chinese commas too), dropping blanks.
func splitList(s string) []string {
	f := func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == '\uFF0C' || r == '、' }
	var out []string
	for _, part := range strings.FieldsFunc(s, f) {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

func parseInt64(s string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n, err == nil
}
