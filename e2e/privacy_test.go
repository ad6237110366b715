package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store/sqlstore"
)

// personalData are the customer's data the privacy test pushes, as
// pushed, and the canonical forms a copy could take.
var personalData = []string{
	"13912345678", "139 1234 5678", // a mobile number in a message and an attribute value
	"13812345678",                                    // the customer id
	"13712345678",                                    // in a tag
	"13612345678",                                    // an attribute key
	"13512345678",                                    // the customer tier
	"11010519491231002X",                             // an ID card
	"6222 0210 0112 3456 789", "6222021001123456789", // a bank card
	"li.si@example.com", "zhao.liu@example.net", // e-mail in a message and an attribute value
	"010-62345678", "01062345678", // a landline
}

// privateChat is chat() carrying personal data in every string field a
// platform may fill with it, beside an order and a tracking number.
func privateChat(tr *qav1.Transcript) *qav1.Transcript {
	tr.Messages[0].Text = "您好，订单号 2098765432109876543 还没到，顺丰单号SF1234567890123。我手机 +86 139 1234 5678，身份证 11010519491231002X，" +
		"退款退到 6222 0210 0112 3456 789，发票发 li.si@example.com，白天打座机 010-62345678"
	tr.CustomerId = "13812345678"
	tr.CustomerTier = "13512345678"
	tr.Tags = []string{"refund", "回访13712345678"}
	tr.Attributes = map[string]string{
		"receiver_phone": "13912345678", "13612345678": "备用号码", "email": "zhao.liu@example.net",
		"order_id": "2098765432109876543", "tracking_no": "SF1234567890123",
	}
	return tr
}

// TestPersonalDataNeverStored pushes Chinese chats with a customer's
// phone, landline, ID-card, bank-card and e-mail in their messages,
// attribute keys and values, tags, customer id and tier, beside order and
// tracking numbers, samples them and reviews one. With redaction on (the
// default), (a) every read surface shows placeholders and pseudonyms and
// keeps the order and tracking numbers: GetTranscript over gRPC and HTTP,
// qactl --json transcript get, review show (text and --json), feedback
// show, and the console's review page; and (b) no value appears anywhere
// in the database: every column of every table, bodies decompressed with
// the store's own codec, and the SQLite files' bytes after the WAL's
// checkpoint. The same push twice is UNCHANGED. With --redact none the
// same scanners find every value: they can see them.
func TestPersonalDataNeverStored(t *testing.T) {
	for _, redacted := range []bool{true, false} {
		name := "redacted"
		if !redacted {
			name = "redaction_off"
		}
		t.Run(name, func(t *testing.T) {
			for _, b := range backends(t) {
				t.Run(b.name, func(t *testing.T) { personalDataOn(t, b, redacted) })
			}
		})
	}
}

func personalDataOn(t *testing.T, b backend, redacted bool) {
	const week = "2026-W46"
	var extra []string
	if !redacted {
		extra = []string{"--redact", "none"}
	}
	w := newWorld(t, b.dsn, defaultOrg, extra...)
	w.setupGRPC()
	chats := w.weekChats(week, 8)
	for _, tr := range chats {
		privateChat(tr)
	}
	for i, want := range []qav1.ItemStatus{qav1.ItemStatus_ITEM_STATUS_ACCEPTED, qav1.ItemStatus_ITEM_STATUS_UNCHANGED} {
		for _, tr := range chats {
			resp, err := w.c.ingest.PushTranscript(w.as("bridge"), &qav1.PushTranscriptRequest{Transcript: tr})
			if err != nil || resp.GetStatus() != want {
				t.Fatalf("push %d of %s: %v %v, want %v", i+1, tr.GetExternalId(), resp.GetStatus(), err, want)
			}
		}
	}
	all := w.runWeek(week)
	picked := map[string]bool{}
	for _, p := range all {
		picked[p.GetExternalId()] = true
	}
	picks := picksOf(t, all, "a1")
	if len(picks) == 0 {
		t.Fatal("no pick of a1 assigned")
	}
	pick := picks[0]
	item := strconv.FormatInt(pick.GetId(), 10)
	id := pick.GetExternalId()

	// (a) Every read surface.
	surfaces := map[string]string{}
	got, err := w.c.ingest.GetTranscript(w.admin(), &qav1.GetTranscriptRequest{ExternalId: id})
	if err != nil {
		t.Fatal(err)
	}
	surfaces["GetTranscript (gRPC)"] = protojson.Format(got)
	httpAnswer := w.srv.httpAPI().mustCall(w.tokens["qa-lead"], "/qa.v1.IngestService/GetTranscript", `{"externalId": "`+id+`"}`)
	httpJSON, err := json.Marshal(httpAnswer)
	if err != nil {
		t.Fatal(err)
	}
	surfaces["GetTranscript (HTTP)"] = string(httpJSON)
	surfaces["qactl --json transcript get"] = w.qactlOK("qa-lead", "--json", "transcript", "get", id)
	surfaces["qactl transcript get"] = w.qactlOK("qa-lead", "transcript", "get", id)
	inspector := pick.GetInspectorId()
	surfaces["qactl review show"] = w.qactlOK(inspector, "review", "show", item)
	surfaces["qactl --json review show"] = w.qactlOK(inspector, "--json", "review", "show", item)
	surfaces["console review page"] = consolePage(t, w.srv, w.tokens[inspector], "/review/"+item)
	review := w.finalize(pick, "attitude=4,knowledge=3,efficiency=5,communication=4,compliance=3").GetReview()
	surfaces["qactl feedback show"] = w.qactlOK("sup-a", "feedback", "show", strconv.FormatInt(review.GetId(), 10))
	surfaces["qactl --json feedback show"] = w.qactlOK("sup-a", "--json", "feedback", "show", strconv.FormatInt(review.GetId(), 10))

	for name, text := range surfaces {
		if !strings.Contains(text, "2098765432109876543") || !strings.Contains(text, "SF1234567890123") {
			t.Errorf("%s lacks the order or tracking number:\n%s", name, text)
		}
		found := containedIn(text, personalData)
		if redacted {
			if len(found) > 0 {
				t.Errorf("%s shows %q:\n%s", name, found, text)
			}
			for _, placeholder := range []string{"〔手机号〕", "〔身份证号〕", "〔银行卡号〕", "〔邮箱〕", "〔座机号〕"} {
				if !strings.Contains(text, placeholder) {
					t.Errorf("%s lacks %s:\n%s", name, placeholder, text)
				}
			}
		} else if !slices.Contains(found, "139 1234 5678") || !slices.Contains(found, "11010519491231002X") {
			t.Errorf("with redaction off %s shows %q of the message's data, want them all:\n%s", name, found, text)
		}
	}
	// Every field of GetTranscript: the customer id and the tier are
	// pseudonyms (one per value: the customer's chats stay together), or
	// everything pushed is read back when redaction is off.
	tr := got.GetTranscript()
	if redacted {
		if c := tr.GetCustomerId(); !strings.HasPrefix(c, "〔手机号〕") || len(c) <= len("〔手机号〕") || strings.HasPrefix(tr.GetCustomerTier(), c) {
			t.Errorf("customer id %q, tier %q: want two distinct phone pseudonyms", c, tr.GetCustomerTier())
		}
		for _, other := range chats[1:] {
			if o, err := w.c.ingest.GetTranscript(w.admin(), &qav1.GetTranscriptRequest{ExternalId: other.GetExternalId()}); err != nil || o.GetTranscript().GetCustomerId() != tr.GetCustomerId() {
				t.Fatalf("%s: customer id %q, want %q as for %s (%v)", other.GetExternalId(), o.GetTranscript().GetCustomerId(), tr.GetCustomerId(), id, err)
			}
		}
	} else if found := containedIn(protojson.Format(got), personalData); len(found) != len(personalData)-2 { // not the canonical card and landline
		t.Errorf("with redaction off GetTranscript shows %q, want every pushed value", found)
	}

	// The key pseudonyms are made with is the database's: after a
	// restart the same push is still UNCHANGED, and a changed one UPDATED
	// with the same customer id.
	w.srv.stop()
	w.srv.start()
	var again *qav1.Transcript
	for _, c := range chats {
		if !picked[c.GetExternalId()] {
			again = c
		}
	}
	if again == nil {
		t.Fatal("every chat was picked; the test needs an unpicked one")
	}
	if resp, err := w.c.ingest.PushTranscript(w.as("bridge"), &qav1.PushTranscriptRequest{Transcript: again}); err != nil || resp.GetStatus() != qav1.ItemStatus_ITEM_STATUS_UNCHANGED {
		t.Fatalf("the same push after a restart: %v %v, want UNCHANGED", resp.GetStatus(), err)
	}
	again.Messages[1].Text += " 还有别的问题吗？"
	if resp, err := w.c.ingest.PushTranscript(w.as("bridge"), &qav1.PushTranscriptRequest{Transcript: again}); err != nil || resp.GetStatus() != qav1.ItemStatus_ITEM_STATUS_UPDATED {
		t.Fatalf("a changed push after a restart: %v %v, want UPDATED", resp.GetStatus(), err)
	}
	if o, err := w.c.ingest.GetTranscript(w.admin(), &qav1.GetTranscriptRequest{ExternalId: again.GetExternalId()}); err != nil || o.GetTranscript().GetCustomerId() != tr.GetCustomerId() {
		t.Errorf("customer id after a restart and a change: %q, want %q (%v)", o.GetTranscript().GetCustomerId(), tr.GetCustomerId(), err)
	}

	// (b) The database itself, after the server stopped (and SQLite
	// checkpointed its WAL into the file).
	w.srv.stop()
	stored := storedValues(t, b)
	if redacted {
		for secret, places := range stored {
			t.Errorf("the database holds %q in %s", secret, strings.Join(places, ", "))
		}
		return
	}
	for _, secret := range personalData {
		if len(stored[secret]) == 0 && secret != "6222021001123456789" && secret != "01062345678" {
			t.Errorf("with redaction off the scan found no %q in the database: it cannot see what it looks for", secret)
		}
	}
}

// containedIn returns the values that occur in text.
func containedIn(text string, values []string) []string {
	var found []string
	for _, v := range values {
		if strings.Contains(text, v) {
			found = append(found, v)
		}
	}
	return found
}

// consolePage signs in to the console with token (the sign-in form takes
// an API token as well as a login code) and returns the HTML of path,
// where the form sends the browser.
func consolePage(t *testing.T, s *server, token, path string) string {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	base := "http://" + s.httpAddr
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/login", strings.NewReader(url.Values{"code": {token}, "next": {path}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || !strings.HasSuffix(resp.Request.URL.Path, path) {
		t.Fatalf("sign in and open %s: %d at %s, %v\n%s", path, resp.StatusCode, resp.Request.URL, err, body)
	}
	return string(body)
}

// storedValues opens b's database directly and returns where each of
// personalData occurs: in any column of any table (blobs also as their
// payload decompressed by the store's codec, which every transcript body
// must decode with), and for SQLite anywhere in the database, WAL and
// shared-memory files' bytes.
func storedValues(t *testing.T, b backend) map[string][]string {
	t.Helper()
	found := map[string][]string{}
	note := func(place string, text []byte) {
		for _, v := range containedIn(string(text), personalData) {
			found[v] = append(found[v], place)
		}
	}
	st, err := sqlstore.Open(t.Context(), b.dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	codec := st.Codec()
	driver, tablesQuery := "pgx", "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
	if b.name == "sqlite" {
		driver, tablesQuery = "sqlite", "SELECT name FROM sqlite_master WHERE type = 'table'"
	}
	db, err := sql.Open(driver, b.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	tables := queryStrings(t, db, tablesQuery)
	if len(tables) < 20 {
		t.Fatalf("%d tables: %q", len(tables), tables)
	}
	bodies := 0
	for _, table := range tables {
		scanTable(t, db, table, func(col string, v any) {
			place := table + "." + col
			switch v := v.(type) {
			case []byte:
				note(place, v)
				payload, err := codec.Payload(v)
				if err == nil {
					note(place+" (decompressed)", payload)
				}
				if table == "transcripts" && col == "body" {
					if err != nil {
						t.Errorf("a stored body does not decode: %v", err)
					}
					bodies++
				}
			case string:
				note(place, []byte(v))
			case nil:
			default:
				note(place, fmt.Append(nil, v))
			}
		})
	}
	if bodies == 0 {
		t.Fatal("no transcript body scanned")
	}
	if b.name == "sqlite" {
		for _, path := range []string{b.dsn, b.dsn + "-wal", b.dsn + "-shm"} {
			raw, err := os.ReadFile(path)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			note(filepath.Base(path)+" bytes", raw)
		}
	}
	return found
}

// TestRetention runs a week two months back, reviews one of its picks,
// then restarts qad with --retain-unsampled 42 --retain-reviewed 14: the
// week's unpicked chats are deleted (and audited), the picked ones stay
// whole (the review closed today, well within 14 days), a chat of today
// stays, and the agent's report for that week shows the same figures.
func TestRetention(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			const week = "2026-W40"
			w := newWorld(t, b.dsn, defaultOrg)
			w.setupGRPC()
			w.pushWeek(week, 6)
			recent := chatAt("recent", "a1", time.Now().Add(-time.Hour), 1)
			if _, err := w.c.ingest.PushTranscript(w.as("bridge"), &qav1.PushTranscriptRequest{Transcript: recent}); err != nil {
				t.Fatal(err)
			}
			picks := w.runWeek(week)
			picked := map[string]bool{}
			for _, p := range picks {
				picked[p.GetExternalId()] = true
			}
			if len(picked) == 0 || len(picked) >= 6*len(defaultOrg) {
				t.Fatalf("%d of %d chats picked; the test needs some unpicked", len(picked), 6*len(defaultOrg))
			}
			reviewed := w.finalize(picksOf(t, picks, "a1")[0], "attitude=4,knowledge=3,efficiency=5,communication=4,compliance=3").GetReview()
			reportOf := func() *qav1.Summary {
				report := &qav1.GetAgentReportResponse{}
				unmarshalJSON(t, w.qactlOK("sup-a", "--json", "report", "agent", "a1", "--weeks", "1", "--last-week", week), report)
				return report.GetReport().GetSummary()
			}
			before := reportOf()
			if before.GetReviews() != 1 || !near(before.GetMean(), reviewed.GetScore()) {
				t.Fatalf("report before retention: %v", before)
			}

			w.srv.stop()
			w.srv.args = append(w.srv.args, "--retain-unsampled", "42", "--retain-reviewed", "14")
			w.srv.start()
			var unpicked []string
			for _, tr := range w.weekChats(week, 6) {
				if !picked[tr.GetExternalId()] {
					unpicked = append(unpicked, tr.GetExternalId())
				}
			}
			deadline := time.Now().Add(20 * time.Second)
			for _, id := range unpicked {
				for {
					_, err := w.c.ingest.GetTranscript(w.admin(), &qav1.GetTranscriptRequest{ExternalId: id})
					if codeOf(err) == codes.NotFound {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("unpicked chat %s of %s still there (%v); log:\n%s", id, week, err, w.srv.log.String())
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
			for id := range picked {
				got, err := w.c.ingest.GetTranscript(w.admin(), &qav1.GetTranscriptRequest{ExternalId: id})
				if err != nil || len(got.GetTranscript().GetMessages()) == 0 {
					t.Errorf("picked chat %s after retention: %v, %d messages; want it whole", id, err, len(got.GetTranscript().GetMessages()))
				}
			}
			if got, err := w.c.ingest.GetTranscript(w.admin(), &qav1.GetTranscriptRequest{ExternalId: "recent"}); err != nil || len(got.GetTranscript().GetMessages()) == 0 {
				t.Errorf("today's chat after retention: %v", err)
			}
			after := reportOf()
			if after.GetReviews() != before.GetReviews() || !near(after.GetMean(), before.GetMean()) {
				t.Errorf("report after retention: %d reviews, mean %v; before %d, %v", after.GetReviews(), after.GetMean(), before.GetReviews(), before.GetMean())
			}
			deleted := 0
			for _, e := range w.auditEvents() {
				if e.GetAction() == "retention.delete_unsampled" && e.GetActor() == "retention" {
					for _, id := range unpicked {
						if strings.Contains(e.GetDetail(), `"`+id+`"`) {
							deleted++
						}
					}
				}
			}
			if deleted != len(unpicked) {
				t.Errorf("audit names %d of the %d deleted chats", deleted, len(unpicked))
			}
			// A push of a deleted chat is taken as new.
			again := w.weekChats(week, 6)[0]
			if picked[again.GetExternalId()] {
				return
			}
			if resp, err := w.c.ingest.PushTranscript(w.as("bridge"), &qav1.PushTranscriptRequest{Transcript: again}); err != nil || resp.GetStatus() != qav1.ItemStatus_ITEM_STATUS_ACCEPTED {
				t.Errorf("re-push of a deleted chat: %v %v", resp.GetStatus(), err)
			}
		})
	}
}

// queryStrings returns the one-column rows of query.
func queryStrings(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// scanTable calls fn with every value of every row of table.
func scanTable(t *testing.T, db *sql.DB, table string, fn func(col string, v any)) {
	t.Helper()
	rows, err := db.Query("SELECT * FROM " + table)
	if err != nil {
		t.Fatalf("%s: %v", table, err)
	}
	defer func() { _ = rows.Close() }()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	values := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range values {
		ptrs[i] = &values[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		for i, v := range values {
			fn(cols[i], v)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", table, err)
	}
}
