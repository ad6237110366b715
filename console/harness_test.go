package console

// The shared test harness of the console's pages: a real server (server.New
// on a SQLite file, served on a loopback TCP listener, dialled with
// grpc.NewClient), seeded like a small programme's past fortnight, the
// console in front of it on an httptest server, and signed-in HTTP clients
// per role. The supervisor and admin pages' tests reuse it; a test that
// needs more data adds its own seed function in its own *_test.go file.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"qa-sampling/isoweek"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/server"
	"qa-sampling/store"
	"qa-sampling/store/sqlstore"
	"qa-sampling/websession"
)

// programmeZone is the default policy's zone, in which weeks are cut.
var programmeZone = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// harness is a running server with the console in front of it.
type harness struct {
	t     *testing.T
	store *sqlstore.Store
	srv   *server.Server
	// conn reaches the services over gRPC (what the console uses).
	conn *grpc.ClientConn
	// Console is the console under test; URL is where it is served.
	Console *Console
	URL     string
	// Week is the last week that has ended (the seeded, sampled one);
	// EarlierWeek the one before it (sampled too, with fewer chats).
	Week, EarlierWeek string
	// Admin is a gRPC context of an admin token, for seeding and for
	// checking the server's state after a page acted.
	Admin context.Context
}

// Seeded people: agents by id with their Chinese names and supervisors,
// and the inspectors the runs assign to.
var (
	seedAgents = []*qav1.Agent{
		{AgentId: "agent-zw", Name: "张伟", TeamId: "team-east", SupervisorId: "sup-1", HiredOn: "2023-03-01"},
		{AgentId: "agent-ln", Name: "李娜", TeamId: "team-east", SupervisorId: "sup-1", HiredOn: "2024-07-15"},
		{AgentId: "agent-wf", Name: "王芳", TeamId: "team-west", SupervisorId: "sup-2", HiredOn: "2022-11-20"},
	}
	seedInspectors = []*qav1.Inspector{{Id: "insp-1", Name: "陈静"}, {Id: "insp-2", Name: "刘洋"}}
)

// startHarness starts a server on a fresh SQLite file, seeds it (agents,
// two past weeks of Chinese chats, a run of each, items assigned to
// insp-1 and insp-2) and serves the console in front of it.
func startHarness(t *testing.T) *harness {
	t.Helper()
	return startHarnessOn(t, filepath.Join(t.TempDir(), "qa.db"))
}

// harnessBackends are the databases a page test may run on: a SQLite file
// and, when QA_TEST_POSTGRES_DSN is set, a fresh PostgreSQL schema (CI
// sets it and must not skip it).
func harnessBackends(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{"sqlite": filepath.Join(t.TempDir(), "qa.db")}
	dsn := os.Getenv("QA_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("QA_TEST_POSTGRES_DSN is not set: CI must test the PostgreSQL backend")
		}
		t.Log("QA_TEST_POSTGRES_DSN not set: PostgreSQL backend skipped")
		return out
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "console_" + hex.EncodeToString(b)
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
		_ = db.Close()
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("QA_TEST_POSTGRES_DSN: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	out["postgres"] = u.String()
	return out
}

// startHarnessOn is startHarness on the database dsn names (a SQLite file
// or a PostgreSQL URL, migrated here).
func startHarnessOn(t *testing.T, dsn string) *harness {
	t.Helper()
	ctx := t.Context()
	st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{AutoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	last := isoweek.Of(time.Now(), programmeZone).Prev()
	// The data is seeded through a first server, and the pages are served
	// by a second on the same store: a server warms its team reports (and
	// the check rates in them, kept a minute) as it starts, and a warm-up
	// racing the seeding would keep counts of half the chats.
	seeder := serveStore(t, st)
	h := &harness{t: t, store: st, srv: seeder.srv, conn: seeder.conn,
		Week: last.String(), EarlierWeek: last.Prev().String()}
	h.Admin = h.grpcAs(store.RoleAdmin, "lead")
	h.seed(last)
	seeder.stop()
	served := serveStore(t, st)
	c, err := New(Config{Conn: served.conn})
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(c)
	t.Cleanup(func() {
		web.Close()
		served.stop()
		_ = st.Close()
	})
	h.srv, h.conn, h.Console, h.URL = served.srv, served.conn, c, web.URL
	return h
}

// runningServer is a server on a loopback port and a connection to it.
type runningServer struct {
	srv  *server.Server
	conn *grpc.ClientConn
	stop func()
}

// serveStore starts a server on st; stop shuts it down (once).
func serveStore(t *testing.T, st *sqlstore.Store) *runningServer {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.Codec = st.Codec()
	cfg.FeedbackPoll = 0
	srv := server.New(st, cfg, slog.New(slog.DiscardHandler))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { _ = srv.Serve(lis); close(served) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = conn.Close()
			stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv.Shutdown(stopCtx)
			<-served
		})
	}
	t.Cleanup(stop)
	return &runningServer{srv: srv, conn: conn, stop: stop}
}

// token stores a new API token of role for subject and returns it.
func (h *harness) token(role store.Role, subject string) string {
	h.t.Helper()
	plain, tok, err := server.NewToken(role, subject, time.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.store.CreateToken(h.t.Context(), tok, "harness"); err != nil {
		h.t.Fatal(err)
	}
	return plain
}

// grpcAs is a context for calling the services as role/subject.
func (h *harness) grpcAs(role store.Role, subject string) context.Context {
	return metadata.AppendToOutgoingContext(h.t.Context(), "authorization", "Bearer "+h.token(role, subject))
}

// seed stores the directory, the inspectors and the chats, then runs both
// weeks.
func (h *harness) seed(last isoweek.Week) {
	h.t.Helper()
	ingestCtx := h.grpcAs(store.RoleIngest, "platform")
	ingest := qav1.NewIngestServiceClient(h.conn)
	if _, err := ingest.UpsertAgents(ingestCtx, &qav1.UpsertAgentsRequest{Agents: seedAgents}); err != nil {
		h.t.Fatal(err)
	}
	sampling := qav1.NewSamplingServiceClient(h.conn)
	for _, in := range seedInspectors {
		if _, err := sampling.UpsertInspector(h.Admin, &qav1.UpsertInspectorRequest{Inspector: in}); err != nil {
			h.t.Fatal(err)
		}
	}
	for _, w := range []struct {
		week   isoweek.Week
		agents []*qav1.Agent
		chats  int
	}{{last.Prev(), seedAgents[:1], 3}, {last, seedAgents, 7}} {
		monday, _ := w.week.Bounds(programmeZone)
		for _, a := range w.agents {
			for i := range w.chats {
				start := monday.Add(time.Duration(24*(i%5)+9)*time.Hour + time.Duration(i)*17*time.Minute)
				if _, err := ingest.PushTranscript(ingestCtx, &qav1.PushTranscriptRequest{Transcript: seedChat(a.GetAgentId(), w.week.String(), i, start)}); err != nil {
					h.t.Fatal(err)
				}
			}
		}
		if _, err := sampling.RunWeek(h.Admin, &qav1.RunWeekRequest{Week: w.week.String()}); err != nil {
			h.t.Fatalf("running %s: %v", w.week, err)
		}
	}
}

// seedChat is chat i of an agent in a week: a customer asks about an
// order, the agent answers; every third chat is a complaint with a bot
// greeting, a system note and a transfer to the next agent, every fourth
// a VIP's.
func seedChat(agentID, week string, i int, start time.Time) *qav1.Transcript {
	id := fmt.Sprintf("%s-%s-%02d", week, strings.TrimPrefix(agentID, "agent-"), i)
	order := fmt.Sprintf("2026%06d", 100000+i*37)
	at := start
	next := func(d time.Duration) *timestamppb.Timestamp { at = at.Add(d); return timestamppb.New(at) }
	t := &qav1.Transcript{ExternalId: id, AgentId: agentID, Channel: "chat", CustomerId: "cust-" + order,
		CustomerTier: "regular", StartedAt: timestamppb.New(start), Tags: []string{"咨询"}}
	msg := func(role qav1.Role, d time.Duration, text string) {
		t.Messages = append(t.Messages, &qav1.Message{Role: role, Text: text, SentAt: next(d)})
	}
	if i%3 == 0 {
		t.Tags = []string{"complaint", "退款"}
		msg(qav1.Role_ROLE_BOT, 0, "您好，我是智能助手小蜜，请问有什么可以帮您？")
		msg(qav1.Role_ROLE_CUSTOMER, 20*time.Second, "订单 "+order+" 的衣服有破洞，我要退款！你们质量太差了。")
		msg(qav1.Role_ROLE_SYSTEM, 5*time.Second, "已为您转接人工客服")
	} else {
		msg(qav1.Role_ROLE_CUSTOMER, 0, "你好，订单 "+order+" 什么时候发货？")
	}
	msg(qav1.Role_ROLE_AGENT, time.Duration(15+i*7)*time.Second, "亲，您好！我是客服，很高兴为您服务。已为您查询订单 "+order+"。")
	msg(qav1.Role_ROLE_CUSTOMER, 40*time.Second, "那大概多久能处理好？")
	if i%3 == 0 {
		other := "agent-ln"
		if agentID == other {
			other = "agent-zw"
		}
		// The chat moves to another agent and back: a transfer.
		t.Messages = append(t.Messages, &qav1.Message{Role: qav1.Role_ROLE_AGENT, AgentId: other, Text: "您好，我是售后专员，退款申请已为您提交，1–3 个工作日内原路退回。", SentAt: next(50 * time.Second)})
		t.TransferCount = 1
	}
	msg(qav1.Role_ROLE_AGENT, 30*time.Second, "预计明天发出，请您耐心等待，还有其他可以帮您的吗？")
	msg(qav1.Role_ROLE_CUSTOMER, 25*time.Second, "没有了，谢谢。")
	msg(qav1.Role_ROLE_AGENT, 10*time.Second, "感谢您的耐心，祝您生活愉快，再见！")
	t.EndedAt = next(5 * time.Second)
	if i%4 == 1 {
		t.CustomerTier = "vip"
	}
	if i%3 == 0 {
		csat := int32(2)
		t.Csat = &csat
	}
	return t
}

// queue returns an inspector's items over gRPC, every page.
func (h *harness) queue(inspector string) []*qav1.Pick {
	h.t.Helper()
	ctx := h.grpcAs(store.RoleInspector, inspector)
	var out []*qav1.Pick
	req := &qav1.ListQueueRequest{PageSize: 1000}
	for {
		resp, err := qav1.NewReviewServiceClient(h.conn).ListQueue(ctx, req)
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, resp.GetItems()...)
		if resp.GetNextPageToken() == "" {
			return out
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

// visitor is a signed-in browser of the console: an HTTP client whose
// cookie jar holds the session cookie (an API token, which the console
// forwards as its bearer, as it does a session's secret).
type visitor struct {
	h       *harness
	Role    store.Role
	Subject string
	// Credential is the cookie's value; CSRF its proof for forms.
	Credential string
	CSRF       string
	Client     *http.Client
	// Ctx calls the services over gRPC as the same person.
	Ctx context.Context
}

// as signs role/subject in: a new token in the session cookie. It skips
// the test while the server has no WhoAmI (the access helper's work in
// progress), as no page can tell who is signed in without it.
func (h *harness) as(role store.Role, subject string) *visitor {
	h.t.Helper()
	cred := h.token(role, subject)
	ctx := metadata.AppendToOutgoingContext(h.t.Context(), "authorization", "Bearer "+cred)
	if _, err := qav1.NewAccessServiceClient(h.conn).WhoAmI(ctx, &qav1.WhoAmIRequest{}); err != nil {
		h.t.Skipf("AccessService.WhoAmI fails (%v): until the server implements it no page can sign anyone in", err)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	u, _ := url.Parse(h.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: websession.CookieName, Value: cred, Path: "/"}})
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		// Tests look at redirects themselves.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &visitor{h: h, Role: role, Subject: subject, Credential: cred, CSRF: websession.CSRFToken(cred), Client: client, Ctx: ctx}
}

// page is a response read whole.
type page struct {
	Code     int
	Body     string
	Location string
	Header   http.Header
}

// get fetches path (with the language asked by Accept-Language when lang
// is set on the visitor's request: zh-CN by default).
func (v *visitor) get(path string) page {
	v.h.t.Helper()
	return v.do(http.MethodGet, path, nil)
}

// post submits form to path with the CSRF proof.
func (v *visitor) post(path string, form url.Values) page {
	v.h.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if form.Get(websession.CSRFField) == "" {
		form.Set(websession.CSRFField, v.CSRF)
	}
	return v.do(http.MethodPost, path, form)
}

func (v *visitor) do(method, path string, form url.Values) page {
	v.h.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(v.h.t.Context(), method, v.h.URL+path, body)
	if err != nil {
		v.h.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := v.Client.Do(req)
	if err != nil {
		v.h.t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		v.h.t.Fatal(err)
	}
	return page{Code: resp.StatusCode, Body: string(b), Location: resp.Header.Get("Location"), Header: resp.Header}
}

// mustContain fails the test unless the page has status code and every
// text.
func (p page) mustContain(t *testing.T, code int, texts ...string) {
	t.Helper()
	if p.Code != code {
		t.Fatalf("status %d, want %d; body:\n%s", p.Code, code, p.Body)
	}
	for _, s := range texts {
		if !strings.Contains(p.Body, s) {
			t.Fatalf("page lacks %q; body:\n%s", s, p.Body)
		}
	}
}

// TestHarnessSeedsAQueueForEachInspector checks the harness itself: both
// inspectors have items of the last week, and agents' chats are stored.
func TestHarnessSeedsAQueueForEachInspector(t *testing.T) {
	h := startHarness(t)
	for _, in := range seedInspectors {
		items := h.queue(in.GetId())
		if len(items) == 0 {
			t.Fatalf("%s has no items", in.GetId())
		}
	}
	weeks := map[string]int{}
	for _, in := range seedInspectors {
		for _, it := range h.queue(in.GetId()) {
			weeks[it.GetExternalId()[:len("2026-W01")]]++
		}
	}
	if weeks[h.Week] == 0 || weeks[h.EarlierWeek] == 0 {
		t.Fatalf("items by week %v: want both %s and %s", weeks, h.Week, h.EarlierWeek)
	}
}

// TestSignedInVisitorsLandOnTheirHome checks the harness's signed-in
// clients: the home page sends each role to its own page, and signing out
// (a form POST with the CSRF proof) ends the visit.
func TestSignedInVisitorsLandOnTheirHome(t *testing.T) {
	h := startHarness(t)
	for role, home := range map[store.Role]string{store.RoleInspector: "/queue", store.RoleSupervisor: "/inbox", store.RoleAdmin: "/weeks"} {
		v := h.as(role, map[store.Role]string{store.RoleInspector: "insp-1", store.RoleSupervisor: "sup-1", store.RoleAdmin: "lead"}[role])
		if p := v.get("/"); p.Code != http.StatusSeeOther || p.Location != home {
			t.Fatalf("%s: GET / answered %d to %q, want %s", role, p.Code, p.Location, home)
		}
	}
	v := h.as(store.RoleInspector, "insp-1")
	if p := v.post("/logout", nil); p.Code != http.StatusSeeOther {
		t.Fatalf("sign-out answered %d:\n%s", p.Code, p.Body)
	}
	v.get("/login").mustContain(t, http.StatusOK, "登录")
}
