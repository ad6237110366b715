package console

import (
	"net/http"
	"net/url"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The supervisor's area (issue 10 §4): the feedback inbox with new records
// arriving live, a record with its chat (acknowledge with a coaching note,
// dispute within the window), and the agent and team reports. The report
// pages are shared with admins, whose "Reports" menu entry opens /team.
// One file per page: supervisor_inbox.go, supervisor_feedback.go,
// supervisor_reports.go; the chart is chart.go.

var (
	supervisorOnly     = []string{"supervisor"}
	supervisorOrAdmin  = []string{"supervisor", "admin"}
	gradeKeys          = map[string]string{"excellent": "supervisor.grade.excellent", "good": "supervisor.grade.good", "pass": "supervisor.grade.pass", "needs_improvement": "supervisor.grade.needs_improvement", "fail": "supervisor.grade.fail"}
	gradeClasses       = map[string]string{"excellent": "ok", "good": "ok", "pass": "", "needs_improvement": "warn", "fail": "bad"}
	supervisorNavInbox = "inbox"
	supervisorNavTeam  = "team"
)

// supervisorRoutes registers the supervisor's pages (see /work/CONSOLE.md's URL map).
func (c *Console) supervisorRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /inbox", c.page(supervisorOnly, c.inboxPage))
	// Admins may read a record (GetFeedback lets them); only its
	// supervisor acknowledges or disputes it.
	mux.HandleFunc("GET /feedback/{id}", c.page(supervisorOrAdmin, c.feedbackPage))
	mux.HandleFunc("POST /feedback/{id}/acknowledge", c.page(supervisorOnly, c.acknowledgeFeedback))
	mux.HandleFunc("POST /feedback/{id}/dispute", c.page(supervisorOnly, c.openDispute))
	// A form's address opened as a page (the language switch on a refused
	// form links back to it) shows the record.
	mux.HandleFunc("GET /feedback/{id}/{action}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/feedback/"+url.PathEscape(r.PathValue("id"))+"?"+r.URL.RawQuery, http.StatusSeeOther)
	})
	mux.HandleFunc("GET /agents/{agent}", c.page(supervisorOrAdmin, c.agentPage))
	mux.HandleFunc("GET /team", c.page(supervisorOrAdmin, c.teamPage))
}

// gradeLabel is a grade's name in the visitor's language.
func (v *View) gradeLabel(grade string) string {
	if k, ok := gradeKeys[grade]; ok {
		return v.T(k)
	}
	return grade
}

// gradeLabels are every grade's name, for the inbox's script.
func (v *View) gradeLabels() map[string]string {
	out := make(map[string]string, len(gradeKeys))
	for g, k := range gradeKeys {
		out[g] = v.T(k)
	}
	return out
}

// pathID is the positive integer path value name; anything else is a page
// that does not exist.
func pathID(v *View, name string) (int64, error) {
	id, err := strconv.ParseInt(v.R.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, status.Error(codes.NotFound, "no such record")
	}
	return id, nil
}
