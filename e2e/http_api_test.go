package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"qa-sampling/internal/testcerts"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/websession"
)

// httpAPI calls a running qad's HTTP API with net/http.
type httpAPI struct {
	t    *testing.T
	base string
}

func (s *server) httpAPI() *httpAPI { return &httpAPI{t: s.t, base: "http://" + s.httpAddr} }

func (a *httpAPI) request(ctx context.Context, token, method, body string) *http.Request {
	a.t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+method, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// do sends req and decodes the JSON answer.
func (a *httpAPI) do(req *http.Request) (int, map[string]any) {
	a.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		a.t.Fatalf("%s: %d, not JSON: %q", req.URL.Path, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

func (a *httpAPI) call(token, method, body string) (int, map[string]any) {
	a.t.Helper()
	return a.do(a.request(a.t.Context(), token, method, body))
}

func (a *httpAPI) mustCall(token, method, body string) map[string]any {
	a.t.Helper()
	code, out := a.call(token, method, body)
	if code != http.StatusOK {
		a.t.Fatalf("%s: %d %v", method, code, out)
	}
	return out
}

func protoJSON(t *testing.T, m proto.Message) string {
	t.Helper()
	b, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantHTTPError checks an error answer's status, code name and, when field
// is set, the field its first violation names.
func wantHTTPError(t *testing.T, code int, body map[string]any, wantStatus int, wantCode, field string) {
	t.Helper()
	if code != wantStatus || body["code"] != wantCode || body["message"] == "" {
		t.Fatalf("got %d %v, want %d %s", code, body, wantStatus, wantCode)
	}
	details, ok := body["details"].([]any)
	if !ok {
		t.Fatalf("no details list: %v", body)
	}
	if field == "" {
		return
	}
	for _, d := range details {
		violations, _ := d.(map[string]any)["fieldViolations"].([]any)
		if len(violations) > 0 && violations[0].(map[string]any)["field"] == field {
			return
		}
	}
	t.Fatalf("no violation naming %q: %v", field, body)
}

// TestHTTPAPI drives the JSON API of a real qad with net/http on each
// backend: authentication and roles as over gRPC, error bodies naming the
// field, a stranger's body left unread, the cookie's CSRF rules, and
// WatchFeedback as JSON lines and server-sent events.
func TestHTTPAPI(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { httpAPIOn(t, b.dsn) })
	}
}

func httpAPIOn(t *testing.T, dsn string) {
	s := startServer(t, dsn, "--sample-schedule", "off", "--max-request-bytes", "65536")
	api := s.httpAPI()
	admin, ingest := s.token("admin", "lead"), s.token("ingest", "platform")
	supervisor, inspector := s.token("supervisor", "sup-1"), s.token("inspector", "insp-1")

	if out := api.mustCall(admin, "/qa.v1.InfoService/GetServerInfo", ""); out["timeZone"] == nil {
		t.Fatalf("GetServerInfo: %v", out)
	}
	code, body := api.call("", "/qa.v1.InfoService/GetServerInfo", "")
	wantHTTPError(t, code, body, 401, "UNAUTHENTICATED", "")
	code, body = api.call(ingest, "/qa.v1.SamplingService/GetPolicy", "")
	wantHTTPError(t, code, body, 403, "PERMISSION_DENIED", "")
	code, body = api.call(admin, "/qa.v1.SamplingService/RunWeek", `{"week": "2026-W99"}`)
	wantHTTPError(t, code, body, 400, "INVALID_ARGUMENT", "week")
	code, body = api.call(admin, "/qa.v1.SamplingService/NoSuchMethod", "")
	wantHTTPError(t, code, body, 404, "NOT_FOUND", "")
	get := api.request(t.Context(), admin, "/qa.v1.InfoService/GetServerInfo", "")
	get.Method = http.MethodGet
	code, body = api.do(get)
	wantHTTPError(t, code, body, 405, "UNIMPLEMENTED", "")

	strangersBodyIsNotRead(t, s.httpAddr)
	cookieNeedsCSRFProof(t, api, admin)

	// A week sampled over HTTP, and a supervisor watching it over HTTP.
	api.mustCall(ingest, "/qa.v1.IngestService/UpsertAgents", protoJSON(t, &qav1.UpsertAgentsRequest{Agents: agentsFor("agent-1")}))
	for _, id := range []string{"h-1", "h-22", "h-333"} {
		api.mustCall(ingest, "/qa.v1.IngestService/PushTranscript", protoJSON(t, &qav1.PushTranscriptRequest{Transcript: chat(id, "agent-1", 2)}))
	}
	api.mustCall(admin, "/qa.v1.SamplingService/UpsertInspector", `{"inspector": {"id": "insp-1", "name": "质检一号"}}`)
	api.mustCall(admin, "/qa.v1.SamplingService/RunWeek", `{"week": "2026-W47"}`)

	lines := openWatch(t, api, supervisor, "application/x-ndjson")
	events := openWatch(t, api, supervisor, "text/event-stream")

	queue := api.mustCall(inspector, "/qa.v1.ReviewService/ListQueue", "{}")
	items, _ := queue["items"].([]any)
	if len(items) == 0 {
		t.Fatalf("empty queue: %v", queue)
	}
	item := items[0].(map[string]any)["id"]
	// A bad rating names the dimension.
	code, body = api.call(inspector, "/qa.v1.ReviewService/SubmitReview",
		fmt.Sprintf(`{"itemId": %q, "ratings": [{"key": "attitude", "value": 6}]}`, item))
	wantHTTPError(t, code, body, 400, "INVALID_ARGUMENT", "ratings[attitude]")
	api.mustCall(inspector, "/qa.v1.ReviewService/SubmitReview", fmt.Sprintf(`{"itemId": %q, "final": true, "ratings": [
		{"key": "attitude", "value": 4}, {"key": "knowledge", "value": 5}, {"key": "efficiency", "value": 3},
		{"key": "communication", "na": true}, {"key": "compliance", "value": 5}]}`, item))

	line, err := lines.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, `{"result":`) || !strings.Contains(line, `"agent-1"`) {
		t.Fatalf("JSON line %q: %v", line, err)
	}
	event, err := events.ReadString('\n')
	if err != nil || !strings.HasPrefix(event, "data: {") || !strings.Contains(event, `"agent-1"`) {
		t.Fatalf("event %q: %v", event, err)
	}
}

// openWatch opens WatchFeedback from now over HTTP in format accept.
func openWatch(t *testing.T, api *httpAPI, token, accept string) *bufio.Reader {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req := api.request(ctx, token, "/qa.v1.FeedbackService/WatchFeedback", `{"fromNow": true}`)
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != accept {
		t.Fatalf("WatchFeedback as %s: %d %v", accept, resp.StatusCode, resp.Header)
	}
	return bufio.NewReader(resp.Body)
}

// strangersBodyIsNotRead announces a 1 GiB body without a token and sends
// a little of it: the 401 comes back at once, and the connection is
// closed instead of the rest being read.
func strangersBodyIsNotRead(t *testing.T, addr string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = fmt.Fprintf(conn, "POST /qa.v1.IngestService/PushTranscript HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", addr, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte(strings.Repeat("x", 64<<10))); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the body was sent: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), `"UNAUTHENTICATED"`) || !resp.Close {
		t.Fatalf("stranger's 1 GiB body: %d close=%v %s", resp.StatusCode, resp.Close, b)
	}
}

// cookieNeedsCSRFProof: a call authenticated by the session cookie alone
// is refused, as is one from another site; with the proof from our own
// page it passes. (A cookie holding an API token is treated as a session.)
func cookieNeedsCSRFProof(t *testing.T, api *httpAPI, credential string) {
	t.Helper()
	withCookie := func(proof, site string) *http.Request {
		req := api.request(t.Context(), "", "/qa.v1.InfoService/GetServerInfo", "")
		req.AddCookie(&http.Cookie{Name: websession.CookieName, Value: credential})
		if proof != "" {
			req.Header.Set(websession.CSRFHeader, proof)
		}
		req.Header.Set("Sec-Fetch-Site", site)
		return req
	}
	code, body := api.do(withCookie("", "same-origin"))
	wantHTTPError(t, code, body, 403, "PERMISSION_DENIED", "")
	code, body = api.do(withCookie(websession.CSRFToken(credential), "cross-site"))
	wantHTTPError(t, code, body, 403, "PERMISSION_DENIED", "")
	if code, body = api.do(withCookie(websession.CSRFToken(credential), "same-origin")); code != http.StatusOK {
		t.Fatalf("cookie with its proof: %d %v", code, body)
	}
}

// TestHTTPServesTLSWithTheSameFlags: --tls-* secure the HTTP listener too,
// mutual TLS included.
func TestHTTPServesTLSWithTheSameFlags(t *testing.T) {
	dir := t.TempDir()
	ca := testcerts.NewCA(t)
	srvCert, srvKey := ca.Issue(t, "qad", x509.ExtKeyUsageServerAuth, net.ParseIP("127.0.0.1"))
	cliCert, cliKey := ca.Issue(t, "platform", x509.ExtKeyUsageClientAuth)
	s := &server{t: t, dsn: filepath.Join(dir, "qa.db"), addr: freePort(t), args: []string{
		"--tls-cert", testcerts.WriteFile(t, dir, "server.crt", srvCert),
		"--tls-key", testcerts.WriteFile(t, dir, "server.key", srvKey),
		"--tls-client-ca", testcerts.WriteFile(t, dir, "ca.crt", ca.PEM),
	}}
	pair, err := tls.X509KeyPair(cliCert, cliKey)
	if err != nil {
		t.Fatal(err)
	}
	withCert := &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}
	s.startWith(withCert)
	t.Cleanup(s.stop)
	get := func(cfg *tls.Config) (*http.Response, error) {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 5 * time.Second}
		defer client.CloseIdleConnections()
		return client.Get("https://" + s.httpAddr + "/healthz")
	}
	resp, err := get(withCert)
	if err != nil {
		t.Fatalf("HTTPS with a client certificate: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz over HTTPS: %d", resp.StatusCode)
	}
	if resp, err := get(&tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}); err == nil {
		_ = resp.Body.Close()
		t.Fatal("HTTPS without a client certificate was served; mutual TLS not enforced")
	}
}
