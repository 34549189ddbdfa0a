package agentlog_test

// End-to-end tests against the real agentlog binary: started on 127.0.0.1 port 0 with
// a temporary data directory, then queried through the REST API like a user would.
//
// The binary is $AGENTLOG_BIN, else ../../build/agentlog. When it is missing the tests
// are skipped, unless AGENTLOG_E2E=require (test.sh sets it), which makes that a
// failure.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	agentlog "github.com/agentlog/agentlog/sdks/go"
)

const e2eKey = "al_e2e_go_sdk_key_0123456789abcdefghijklmnop"

type realServer struct {
	URL string
	cmd *exec.Cmd
}

func agentlogBinary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("AGENTLOG_BIN")
	if bin == "" {
		bin = filepath.Join("..", "..", "build", "agentlog")
	}
	abs, err := filepath.Abs(bin)
	if err == nil {
		if _, err = os.Stat(abs); err == nil {
			return abs
		}
	}
	if os.Getenv("AGENTLOG_E2E") == "require" {
		t.Fatalf("agentlog binary not found at %s (set AGENTLOG_BIN): %v", bin, err)
	}
	t.Skipf("agentlog binary not found at %s (set AGENTLOG_BIN, or AGENTLOG_E2E=require to fail)", bin)
	return ""
}

var listening = regexp.MustCompile(`listening on http://([0-9.]+):([0-9]+)`)

// startServer runs the binary on a free port until the test ends.
func startServer(t testing.TB) *realServer {
	t.Helper()
	bin := agentlogBinary(t)
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--threads", "2")
	cmd.Env = append(os.Environ(), "AGENTLOG_API_KEY="+e2eKey, "AGENTLOG_LOG=info")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	var logMu sync.Mutex
	var logLines []string
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() { // keep reading so the server never blocks on a full pipe
			logMu.Lock()
			if len(logLines) < 200 {
				logLines = append(logLines, sc.Text())
			}
			logMu.Unlock()
			if m := listening.FindStringSubmatch(sc.Text()); m != nil && !sent {
				addr <- "http://" + m[1] + ":" + m[2]
				sent = true
			}
		}
		close(addr)
	}()
	s := &realServer{cmd: cmd}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				logMu.Lock()
				t.Errorf("agentlog exited with %v; log:\n%s", err, strings.Join(logLines, "\n"))
				logMu.Unlock()
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("agentlog did not stop within 10s of SIGTERM")
		}
	})
	select {
	case u, ok := <-addr:
		if !ok {
			t.Fatalf("agentlog exited before listening")
		}
		s.URL = u
	case <-time.After(15 * time.Second):
		t.Fatal("agentlog did not log its address within 15s")
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz not 200 within 15s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// get GETs path with the API key and decodes the JSON answer into out.
func (s *realServer) get(t testing.TB, path string, out any) {
	t.Helper()
	if status := s.tryGet(t, path, out); status != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d", path, status)
	}
}

// tryGet is get that returns a non-200 status instead of failing.
func (s *realServer) tryGet(t testing.TB, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+e2eKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
	return resp.StatusCode
}

type apiSession struct {
	ID           string         `json:"id"`
	Name         *string        `json:"name"`
	Agent        *string        `json:"agent"`
	UserID       *string        `json:"user_id"`
	Tags         []string       `json:"tags"`
	Metadata     map[string]any `json:"metadata"`
	Status       string         `json:"status"`
	EndedAt      *string        `json:"ended_at"`
	EventCount   int            `json:"event_count"`
	ErrorCount   int            `json:"error_count"`
	LLMCount     int            `json:"llm_count"`
	ToolCount    int            `json:"tool_count"`
	InputTokens  int64          `json:"input_tokens"`
	OutputTokens int64          `json:"output_tokens"`
	TotalTokens  int64          `json:"total_tokens"`
	CostUSD      float64        `json:"cost_usd"`
}

type apiEvent struct {
	ID        string  `json:"id"`
	SessionID string  `json:"session_id"`
	ParentID  *string `json:"parent_id"`
	Type      string  `json:"type"`
	Name      *string `json:"name"`
	Agent     *string `json:"agent"`
	StartedAt string  `json:"started_at"`
	EndedAt   *string `json:"ended_at"`
	Status    string  `json:"status"`
	Input     any     `json:"input"`
	Output    any     `json:"output"`
	Error     *struct {
		Type    *string `json:"type"`
		Message *string `json:"message"`
		Stack   *string `json:"stack"`
	} `json:"error"`
	Model    *string `json:"model"`
	Provider *string `json:"provider"`
	Usage    *struct {
		InputTokens  int64 `json:"input_tokens"`
		OutputTokens int64 `json:"output_tokens"`
		TotalTokens  int64 `json:"total_tokens"`
	} `json:"usage"`
	CostUSD    *float64       `json:"cost_usd"`
	Attributes map[string]any `json:"attributes"`
	Tags       []string       `json:"tags"`
	Children   []apiEvent     `json:"children"`
}

func (s *realServer) session(t testing.TB, id string) apiSession {
	var out apiSession
	s.get(t, "/v1/sessions/"+url.PathEscape(id), &out)
	return out
}

func (s *realServer) tree(t testing.TB, id string) []apiEvent {
	var out struct {
		Data       []apiEvent `json:"data"`
		NextCursor *string    `json:"next_cursor"`
	}
	s.get(t, "/v1/sessions/"+url.PathEscape(id)+"/events?tree=true&limit=10000", &out)
	if out.NextCursor != nil {
		t.Fatalf("session %s has more than one page of events", id)
	}
	return out.Data
}

func deref(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func e2eClient(t testing.TB, s *realServer, cfg agentlog.Config) (*agentlog.Client, *errorLog) {
	t.Helper()
	cfg.URL = s.URL
	if cfg.APIKey == "" {
		cfg.APIKey = e2eKey
	}
	return newTestClient(t, nil, cfg)
}

// The README's example, end to end: a session with nested spans, checked through the
// REST API as a tree with exact rollups.
func TestE2ENestedSessionThroughTheRESTAPI(t *testing.T) {
	s := startServer(t)
	c, errs := e2eClient(t, s, agentlog.Config{})

	ctx, session := c.StartSession(context.Background(), agentlog.Session{
		Name: "refund request", Agent: "support-bot", UserID: "user-42",
		Tags: []string{"prod", "refunds"}, Metadata: map[string]any{"ticket": 42.0},
	})
	actx, agentSpan := c.StartSpan(ctx, agentlog.TypeAgent, "handle ticket")
	agentSpan.SetInput(map[string]any{"ticket": 42.0, "text": "I want my money back"})

	lctx, llm := c.StartSpan(actx, agentlog.TypeLLM, "plan")
	llm.SetModel("gpt-4o", "openai")
	llm.SetInput([]map[string]string{{"role": "user", "content": "I want my money back"}})
	llm.SetUsage(agentlog.Usage{InputTokens: 120, OutputTokens: 30})
	llm.SetCost(0.0015)
	_, tool := c.StartSpan(lctx, agentlog.TypeTool, "lookup_order")
	tool.SetInput(map[string]any{"order": "A-1"})
	tool.RecordError(errors.New("order service unavailable"))
	tool.End()
	_, retry := c.StartSpan(lctx, agentlog.TypeTool, "lookup_order")
	retry.SetOutput(map[string]any{"status": "delivered"})
	retry.End()
	llm.SetOutput("refund approved")
	llm.End()

	c.Log(actx, agentlog.Event{Type: agentlog.TypeMessage, Name: "reply", Output: "Your refund is on its way."})
	_, llm2 := c.StartSpan(actx, agentlog.TypeLLM, "summarize")
	llm2.SetUsage(agentlog.Usage{InputTokens: 80, OutputTokens: 20, TotalTokens: 100})
	llm2.SetCost(0.0005)
	llm2.End()
	agentSpan.SetOutput("done")
	agentSpan.End()
	session.End(agentlog.StatusSuccess)
	flush(t, c)

	got := s.session(t, session.ID())
	if got.Status != "success" || got.EndedAt == nil || deref(got.Name) != "refund request" ||
		deref(got.Agent) != "support-bot" || deref(got.UserID) != "user-42" ||
		strings.Join(got.Tags, ",") != "prod,refunds" || got.Metadata["ticket"] != 42.0 {
		t.Errorf("session = %+v", got)
	}
	if got.EventCount != 6 || got.LLMCount != 2 || got.ToolCount != 2 || got.ErrorCount != 1 ||
		got.InputTokens != 200 || got.OutputTokens != 50 || got.TotalTokens != 250 {
		t.Errorf("rollups = %+v", got)
	}
	if got.CostUSD < 0.00199 || got.CostUSD > 0.00201 {
		t.Errorf("cost_usd = %v", got.CostUSD)
	}

	tree := s.tree(t, session.ID())
	if len(tree) != 1 || tree[0].ID != agentSpan.ID() {
		t.Fatalf("want one root (the agent span), got %d: %+v", len(tree), tree)
	}
	root := tree[0]
	if root.Type != "agent" || deref(root.Agent) != "support-bot" || root.Status != "ok" || root.Output != "done" {
		t.Errorf("root = %+v", root)
	}
	if len(root.Children) != 3 {
		t.Fatalf("root has %d children, want 3 (plan, reply, summarize)", len(root.Children))
	}
	names := []string{deref(root.Children[0].Name), deref(root.Children[1].Name), deref(root.Children[2].Name)}
	if strings.Join(names, ",") != "plan,reply,summarize" {
		t.Errorf("children in time order = %v", names)
	}
	plan := root.Children[0]
	if plan.ID != llm.ID() || deref(plan.Model) != "gpt-4o" || deref(plan.Provider) != "openai" ||
		plan.Usage == nil || plan.Usage.TotalTokens != 150 || plan.Output != "refund approved" || len(plan.Children) != 2 {
		t.Errorf("plan = %+v", plan)
	}
	failed := plan.Children[0]
	if failed.ID != tool.ID() || failed.Status != "error" || failed.Error == nil ||
		deref(failed.Error.Message) != "order service unavailable" || deref(failed.Error.Type) != "*errors.errorString" ||
		!strings.Contains(deref(failed.Error.Stack), "TestE2ENestedSessionThroughTheRESTAPI") {
		t.Errorf("failed tool = %+v (error %+v)", failed, failed.Error)
	}
	if ok := plan.Children[1]; ok.ID != retry.ID() || ok.Status != "ok" || fmt.Sprint(ok.Output) != "map[status:delivered]" {
		t.Errorf("second tool = %+v", ok)
	}
	if reply := root.Children[1]; reply.Type != "message" || reply.Output != "Your refund is on its way." || deref(reply.ParentID) != agentSpan.ID() {
		t.Errorf("reply = %+v", reply)
	}
	if len(errs.all()) != 0 {
		t.Errorf("OnError: %v", errs.all())
	}
}

// Many goroutines against the real server: exact counts, no duplicates, parents right.
func TestE2EConcurrentSpansCountExactly(t *testing.T) {
	s := startServer(t)
	c, _ := e2eClient(t, s, agentlog.Config{MaxQueueSize: 100_000, MaxBatchSize: 500, FlushInterval: 20 * time.Millisecond})
	const goroutines, spansEach = 200, 10
	ctx, session := c.StartSession(context.Background(), agentlog.Session{Name: "concurrent"})
	ctx, root := c.StartSpan(ctx, agentlog.TypeAgent, "root")
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			gctx, step := c.StartSpan(ctx, agentlog.TypeStep, fmt.Sprint("worker-", g))
			for i := 0; i < spansEach; i++ {
				_, sp := c.StartSpan(gctx, agentlog.TypeTool, "call")
				sp.SetUsage(agentlog.Usage{InputTokens: 1, OutputTokens: 2})
				sp.End()
			}
			step.End()
		}(g)
	}
	wg.Wait()
	root.End()
	session.End(agentlog.StatusSuccess)
	flush(t, c)

	want := 1 + goroutines*(1+spansEach)
	got := s.session(t, session.ID())
	if got.EventCount != want || got.ToolCount != goroutines*spansEach || got.TotalTokens != int64(3*goroutines*spansEach) {
		t.Errorf("session = %d events, %d tools, %d tokens; want %d, %d, %d",
			got.EventCount, got.ToolCount, got.TotalTokens, want, goroutines*spansEach, 3*goroutines*spansEach)
	}
	tree := s.tree(t, session.ID())
	if len(tree) != 1 || len(tree[0].Children) != goroutines {
		t.Fatalf("tree: %d roots, %d workers", len(tree), len(tree[0].Children))
	}
	for _, w := range tree[0].Children {
		if len(w.Children) != spansEach {
			t.Fatalf("%s has %d children", deref(w.Name), len(w.Children))
		}
	}
	if st := c.Stats(); st.Dropped != 0 || st.Failed != 0 || st.Rejected != 0 || st.Sent != st.Enqueued {
		t.Errorf("stats = %+v", st)
	}
}

// A proxy that loses the server's answer: the server stored the batch, the client
// retries it, and because the ids were made by the client nothing is duplicated.
// Also: the running snapshot of a long span is replaced by its final version.
func TestE2ERetriesAfterALostAnswerDoNotDuplicate(t *testing.T) {
	s := startServer(t)
	target, _ := url.Parse(s.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var forwarded atomic.Int32
	front := newFakeServer(t)
	front.setRespond(func(w http.ResponseWriter, r *http.Request, n int, body []byte) bool {
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		r.ContentLength = int64(len(body))
		r.Header.Del("Content-Encoding")
		if forwarded.Add(1)%2 == 1 {
			// Deliver to the server but answer 502 as if the answer was lost.
			rec := &discardWriter{header: http.Header{}}
			proxy.ServeHTTP(rec, r)
			if rec.status != http.StatusOK {
				t.Errorf("the server answered %d", rec.status)
			}
			w.WriteHeader(http.StatusBadGateway)
			return true
		}
		proxy.ServeHTTP(w, r)
		return true
	})
	c2, errs := newTestClient(t, nil, agentlog.Config{URL: front.URL, APIKey: e2eKey, FlushInterval: 50 * time.Millisecond})

	ctx, session := c2.StartSession(context.Background(), agentlog.Session{Name: "flaky network"})
	ctx, long := c2.StartSpan(ctx, agentlog.TypeAgent, "long")
	deadline := time.Now().Add(10 * time.Second)
	for {
		var page struct {
			Data []apiEvent `json:"data"`
		}
		status := s.tryGet(t, "/v1/sessions/"+session.ID()+"/events", &page)
		if status == http.StatusOK && len(page.Data) == 1 && page.Data[0].Status == "running" {
			break // the long span shows while it runs
		}
		if time.Now().After(deadline) {
			t.Fatalf("the running span never showed: %+v", page.Data)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := 0; i < 20; i++ {
		_, sp := c2.StartSpan(ctx, agentlog.TypeTool, "t")
		sp.SetUsage(agentlog.Usage{InputTokens: 5})
		sp.End()
	}
	long.End()
	session.End(agentlog.StatusSuccess)
	flush(t, c2)

	got := s.session(t, session.ID())
	if got.EventCount != 21 || got.ToolCount != 20 || got.InputTokens != 100 || got.Status != "success" {
		t.Errorf("session after retries = %+v", got)
	}
	tree := s.tree(t, session.ID())
	if len(tree) != 1 || tree[0].Status != "ok" || tree[0].EndedAt == nil || len(tree[0].Children) != 20 {
		t.Errorf("tree = %d roots, root status %q", len(tree), tree[0].Status)
	}
	if st := c2.Stats(); st.Retries == 0 || st.Failed != 0 {
		t.Errorf("stats = %+v (want retries, no failures); errors %v", st, errs.all())
	}
}

type discardWriter struct {
	header http.Header
	status int
}

func (d *discardWriter) Header() http.Header { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) {
	if d.status == 0 {
		d.status = http.StatusOK
	}
	return len(b), nil
}
func (d *discardWriter) WriteHeader(status int) { d.status = status }

// Large payloads go gzip-compressed; a wrong key is a 401 that is not retried.
func TestE2EGzipAndAuth(t *testing.T) {
	s := startServer(t)
	c, _ := e2eClient(t, s, agentlog.Config{})
	big := strings.Repeat("the quick brown fox jumps over the lazy dog ", 5000)
	ctx, session := c.StartSession(context.Background(), agentlog.Session{})
	id := c.Log(ctx, agentlog.Event{Input: big})
	flush(t, c)
	var ev apiEvent
	s.get(t, "/v1/events/"+id, &ev)
	if ev.Input != big || ev.SessionID != session.ID() {
		t.Errorf("large event did not round-trip (%d bytes)", len(fmt.Sprint(ev.Input)))
	}

	bad, errs := e2eClient(t, s, agentlog.Config{APIKey: "wrong-key"})
	bad.Log(context.Background(), agentlog.Event{})
	if err := bad.Flush(context.Background()); err == nil {
		t.Error("Flush succeeded with a wrong key")
	}
	if st := bad.Stats(); st.Requests != 1 || st.Failed != 2 {
		t.Errorf("stats with a wrong key = %+v", st)
	}
	if got := errs.all(); len(got) != 1 || got[0].Status != http.StatusUnauthorized {
		t.Errorf("OnError = %+v", got)
	}
}
