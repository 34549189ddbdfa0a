package agentlog_test

// A fake ingest endpoint for the unit tests and examples: it decodes what the client
// sends exactly as the server would have to (gzip, JSON), keeps every event and
// session update in arrival order, and answers like the real server unless a test
// scripts another answer.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	agentlog "github.com/agentlog/agentlog/sdks/go"
)

const testKey = "test-key-123"

type wireEvent = map[string]any

type fakeRequest struct {
	at       time.Time
	gzipped  bool
	auth     string
	ctype    string
	agent    string
	rawBytes int // body bytes as sent (compressed when gzipped)
	events   []wireEvent
	sessions []wireEvent
	answered int // 200 when stored, -1 when a test's respond answered
}

type fakeServer struct {
	*httptest.Server

	mu sync.Mutex
	// respond, when set, may answer request n (0-based) itself (body is the decompressed
	// request body); it returns false to let the fake store the batch and answer 200.
	// Set it with setRespond.
	respond  func(w http.ResponseWriter, r *http.Request, n int, body []byte) bool
	requests []fakeRequest
	problems []string
	notify   chan struct{}
}

func newFakeServer(t testing.TB) *fakeServer {
	f := &fakeServer{notify: make(chan struct{}, 1)}
	f.Server = httptest.NewServer(http.HandlerFunc(f.handle))
	if t != nil {
		t.Cleanup(func() {
			f.Close()
			f.mu.Lock()
			defer f.mu.Unlock()
			for _, p := range f.problems {
				t.Errorf("fake server: %s", p)
			}
		})
	}
	return f
}

func (f *fakeServer) setRespond(fn func(w http.ResponseWriter, r *http.Request, n int, body []byte) bool) {
	f.mu.Lock()
	f.respond = fn
	f.mu.Unlock()
}

func (f *fakeServer) problem(format string, args ...any) {
	f.mu.Lock()
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

func (f *fakeServer) handle(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/ingest" || r.Method != http.MethodPost {
		f.problem("unexpected request %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return // the client gave up on this request
	}
	req := fakeRequest{
		at:       time.Now(),
		gzipped:  r.Header.Get("Content-Encoding") == "gzip",
		auth:     r.Header.Get("Authorization"),
		ctype:    r.Header.Get("Content-Type"),
		agent:    r.Header.Get("User-Agent"),
		rawBytes: len(raw),
	}
	body := raw
	if req.gzipped {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err == nil {
			body, err = io.ReadAll(zr)
		}
		if err != nil {
			f.problem("corrupt gzip body: %v", err)
			w.WriteHeader(http.StatusUnsupportedMediaType)
			return
		}
	}
	f.mu.Lock()
	n := len(f.requests)
	respond := f.respond
	f.mu.Unlock()
	if respond != nil && respond(w, r, n, body) {
		req.answered = -1 // scripted
		f.record(req)
		return
	}
	var batch struct {
		Events   []wireEvent `json:"events"`
		Sessions []wireEvent `json:"sessions"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&batch); err != nil || !json.Valid(body) {
		f.problem("body is not valid JSON (%v): %.300s", err, body)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	for i, e := range batch.Events {
		if msg := checkEvent(e); msg != "" {
			f.problem("event %d: %s: %v", i, msg, e)
		}
	}
	req.events, req.sessions = batch.Events, batch.Sessions
	req.answered = http.StatusOK
	f.record(req)
	w.Header().Set("Content-Type", "application/json")
	ids := make([]any, len(batch.Events))
	for i, e := range batch.Events {
		ids[i] = e["id"]
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"accepted": len(batch.Events) + len(batch.Sessions), "rejected": 0, "errors": []any{}, "ids": ids,
	})
}

// checkEvent applies the server's required-field rules.
func checkEvent(e wireEvent) string {
	for _, k := range []string{"id", "session_id", "type", "started_at"} {
		s, ok := e[k].(string)
		if !ok || s == "" {
			return "missing or empty " + k
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, e["started_at"].(string)); err != nil {
		return "bad started_at"
	}
	return ""
}

func (f *fakeServer) record(req fakeRequest) {
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.mu.Unlock()
	select {
	case f.notify <- struct{}{}:
	default:
	}
}

func (f *fakeServer) snapshot() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.requests...)
}

// events returns every event received in a stored batch, in arrival order.
func (f *fakeServer) events() []wireEvent {
	var out []wireEvent
	for _, r := range f.snapshot() {
		out = append(out, r.events...)
	}
	return out
}

func (f *fakeServer) sessions() []wireEvent {
	var out []wireEvent
	for _, r := range f.snapshot() {
		out = append(out, r.sessions...)
	}
	return out
}

// latest returns the last version of each event by id.
func (f *fakeServer) latest() map[string]wireEvent {
	out := map[string]wireEvent{}
	for _, e := range f.events() {
		out[e["id"].(string)] = e
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func (f *fakeServer) waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-f.notify:
		case <-time.After(10 * time.Millisecond):
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

// errorLog collects what OnError receives.
type errorLog struct {
	mu   sync.Mutex
	errs []*agentlog.Error
}

func (l *errorLog) onError(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := err.(*agentlog.Error)
	if !ok {
		e = &agentlog.Error{Message: "not an *agentlog.Error: " + err.Error()}
	}
	l.errs = append(l.errs, e)
}

func (l *errorLog) all() []*agentlog.Error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*agentlog.Error(nil), l.errs...)
}

func (l *errorLog) codes() []agentlog.ErrorCode {
	var out []agentlog.ErrorCode
	for _, e := range l.all() {
		out = append(out, e.Code)
	}
	return out
}

func (l *errorLog) count(code agentlog.ErrorCode) int {
	n := 0
	for _, e := range l.all() {
		if e.Code == code {
			n++
		}
	}
	return n
}

// newTestClient returns a client of f that reports to the returned log; it is closed
// at the end of the test. FlushInterval is long so tests decide when to flush.
func newTestClient(t testing.TB, f *fakeServer, cfg agentlog.Config) (*agentlog.Client, *errorLog) {
	t.Helper()
	log := &errorLog{}
	if cfg.URL == "" {
		cfg.URL = f.URL
	}
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	if cfg.OnError == nil {
		cfg.OnError = log.onError
	}
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = time.Hour
	}
	if cfg.MinRetryDelay == 0 {
		cfg.MinRetryDelay = time.Millisecond
	}
	if cfg.MaxRetryDelay == 0 {
		cfg.MaxRetryDelay = 5 * time.Millisecond
	}
	c, err := agentlog.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c, log
}

func flush(t testing.TB, c *agentlog.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func num(t testing.TB, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%v (%T) is not a number", v, v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatalf("%v is not an integer", v)
	}
	return i
}

// TestMain points the examples at a fake server through the environment, as a user
// would point them at a real one.
func TestMain(m *testing.M) {
	f := newFakeServer(nil)
	os.Setenv("AGENTLOG_URL", f.URL)
	os.Setenv("AGENTLOG_API_KEY", testKey)
	code := m.Run()
	f.Close()
	f.mu.Lock()
	if len(f.problems) > 0 {
		fmt.Fprintln(os.Stderr, "fake server used by the examples:", strings.Join(f.problems, "; "))
		code = 1
	}
	f.mu.Unlock()
	os.Exit(code)
}
