package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
)

//go:embed templates
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageSet holds each page parsed with the layout and the partials. They
// are never executed themselves: rendering executes a clone, which gets
// the visitor's language and zone as template functions.
type pageSet struct {
	pages map[string]*template.Template
}

// placeholderFuncs declares the per-visitor functions so pages parse; the
// clone of each render replaces them.
func placeholderFuncs() template.FuncMap {
	return viewFuncs(&View{Lang: langZH, Zone: time.UTC})
}

func parsePages() (*pageSet, error) {
	base := template.New("layout").Funcs(placeholderFuncs())
	base, err := base.ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	if partials, _ := fs.Glob(templateFS, "templates/partials/*.html"); len(partials) > 0 {
		if base, err = base.ParseFS(templateFS, partials...); err != nil {
			return nil, err
		}
	}
	set := &pageSet{pages: map[string]*template.Template{}}
	err = fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		name := strings.TrimPrefix(p, "templates/")
		if name == "layout.html" || strings.HasPrefix(name, "partials/") {
			return nil
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, p)
		if err != nil {
			return fmt.Errorf("console template %s: %w", name, err)
		}
		set.pages[name] = t
		return nil
	})
	return set, err
}

// pageData is what every template gets: the view (visitor, language, CSRF
// token, nonce) and the page's own data.
type pageData struct {
	V *View
	D any
}

// render executes page into the response with status 200.
func (c *Console) render(v *View, page string, data any) error {
	return c.renderCode(v, http.StatusOK, page, data)
}

// renderCode renders page with an HTTP status. The page is rendered into a
// buffer first, so a template failure yields an error page, not half a page.
func (c *Console) renderCode(v *View, code int, page string, data any) error {
	pristine, ok := c.pages.pages[page]
	if !ok {
		return fmt.Errorf("console: no page %q", page)
	}
	t, err := pristine.Clone()
	if err != nil {
		return err
	}
	t.Funcs(viewFuncs(v))
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", pageData{V: v, D: data}); err != nil {
		return fmt.Errorf("console: rendering %s: %w", page, err)
	}
	v.W.Header().Set("Content-Type", "text/html; charset=utf-8")
	v.W.WriteHeader(code)
	_, _ = v.W.Write(buf.Bytes())
	return nil
}

// errorPage is the data of the error page.
type errorPage struct {
	// Key is the message key of a generic error; Message is the services'
	// own words when they said what was wrong.
	Key     string
	Message string
	Fields  map[string]string
	Code    int
}

func (c *Console) renderStatus(v *View, code int, key string) {
	if v.Title == "" {
		v.Title = key
	}
	if err := c.renderCode(v, code, "error.html", errorPage{Key: key, Code: code}); err != nil {
		c.log.Error("rendering the error page", "err", err)
		http.Error(v.W, http.StatusText(code), code)
	}
}

func (c *Console) renderMessage(v *View, code int, message string, fields map[string]string) {
	v.Title = "error.request"
	if err := c.renderCode(v, code, "error.html", errorPage{Key: "error.request", Message: message, Fields: fields, Code: code}); err != nil {
		c.log.Error("rendering the error page", "err", err)
		http.Error(v.W, message, code)
	}
}

// viewFuncs are the template functions bound to a visitor: their language
// and the programme's time zone.
func viewFuncs(v *View) template.FuncMap {
	return template.FuncMap{
		"t": v.T,
		// tf translates a message with fmt verbs and fills them.
		"tf": func(key string, args ...any) string { return fmt.Sprintf(v.T(key), args...) },
		// reason names a sampling reason (random, complaint, ...) in the
		// visitor's language; a tag or custom rule shows as itself.
		"reason": func(r string) string { return samplingReasonLabel(v, r) },
		// trigger says who started a run: the weekly schedule or a person
		// (the API's "schedule" and "manual:<subject>").
		"trigger": func(tr string) string {
			if tr == "schedule" {
				return v.T("admin.weeks.by_schedule")
			}
			if who, ok := strings.CutPrefix(tr, "manual:"); ok {
				return fmt.Sprintf(v.T("admin.weeks.by_person"), who)
			}
			return tr
		},
		// when shows a time in the programme's zone, to the minute.
		"when": func(ts any) string { return formatTime(ts, v.Zone, "2006-01-02 15:04") },
		// whenSec shows it to the second (chat messages).
		"whenSec": func(ts any) string { return formatTime(ts, v.Zone, "2006-01-02 15:04:05") },
		// clock shows only the time of day (messages of one chat).
		"clock": func(ts any) string { return formatTime(ts, v.Zone, "15:04:05") },
		"day":   func(ts any) string { return formatTime(ts, v.Zone, "2006-01-02") },
		// score shows a 0–100 score with one decimal.
		"score": func(f float64) string { return fmt.Sprintf("%.1f", f) },
		// pct shows a 0–1 fraction as a percentage.
		"pct": func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
		// exact shows a float as the shortest decimal that reads back the
		// same (check_disagreement's weights, for an auditor).
		"exact": func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) },
		"add":   func(a, b int) int { return a + b },
		// query builds a link's query string from key/value pairs.
		"lower": strings.ToLower,
		"lang":  func() string { return v.Lang },
	}
}

func formatTime(ts any, zone *time.Location, layout string) string {
	var t time.Time
	switch x := ts.(type) {
	case *timestamppb.Timestamp:
		if x == nil {
			return ""
		}
		t = x.AsTime()
	case time.Time:
		t = x
	default:
		return ""
	}
	if t.IsZero() {
		return ""
	}
	return t.In(zone).Format(layout)
}

// staticHandler serves the embedded stylesheet and scripts. They change
// only with the binary, so browsers may keep them a few minutes.
func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") || path.Ext(r.URL.Path) == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	})
}
