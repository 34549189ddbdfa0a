package agentlog_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	agentlog "github.com/agentlog/agentlog/sdks/go"
)

var uuidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// canon is v as JSON with sorted keys and no HTML escaping.
func canon(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSuffix(b.String(), "\n")
}

func parseTime(t testing.TB, v any) time.Time {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("time %v is not a string", v)
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`).MatchString(s) {
		t.Fatalf("time %q is not RFC 3339 UTC with microseconds", s)
	}
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestSpansNestFollowingContext(t *testing.T) {
	f := newFakeServer(t)
	c, errs := newTestClient(t, f, agentlog.Config{Agent: "default-agent"})

	before := time.Now().Add(-time.Second)
	ctx, session := c.StartSession(context.Background(), agentlog.Session{Name: "run", Agent: "planner"})
	ctx1, root := c.StartSpan(ctx, agentlog.TypeAgent, "plan")
	ctx2, llm := c.StartSpan(ctx1, agentlog.TypeLLM, "chat")
	ctx3, tool := c.StartSpan(ctx2, agentlog.TypeTool, "search", agentlog.WithAgent("searcher"))
	logID := c.Log(ctx3, agentlog.Event{Name: "note"})
	_, sibling := c.StartSpan(ctx1, agentlog.TypeStep, "sibling")
	sibling.End()
	tool.End()
	llm.End()
	root.End()
	session.End(agentlog.StatusSuccess)
	flush(t, c)

	if agentlog.SpanFromContext(ctx3) != tool || agentlog.SessionFromContext(ctx3) != session {
		t.Error("context does not carry the innermost span and its session")
	}
	ev := f.latest()
	if len(ev) != 5 {
		t.Fatalf("got %d events, want 5: %v", len(ev), ev)
	}
	want := []struct {
		id, parent, typ, name, agent string
	}{
		{root.ID(), "", "agent", "plan", "planner"},
		{llm.ID(), root.ID(), "llm", "chat", "planner"},
		{tool.ID(), llm.ID(), "tool", "search", "searcher"},
		{logID, tool.ID(), "log", "note", "searcher"},
		{sibling.ID(), root.ID(), "step", "sibling", "planner"},
	}
	for _, w := range want {
		e, ok := ev[w.id]
		if !ok {
			t.Fatalf("event %s (%s) not received", w.id, w.name)
		}
		if !uuidV7.MatchString(w.id) {
			t.Errorf("id %q is not a UUIDv7", w.id)
		}
		if e["session_id"] != session.ID() {
			t.Errorf("%s: session_id = %v, want %v", w.name, e["session_id"], session.ID())
		}
		if p, _ := e["parent_id"].(string); p != w.parent {
			t.Errorf("%s: parent_id = %q, want %q", w.name, p, w.parent)
		}
		if e["type"] != w.typ || e["name"] != w.name || e["agent"] != w.agent {
			t.Errorf("%s: type/name/agent = %v/%v/%v, want %v/%v/%v", w.name, e["type"], e["name"], e["agent"], w.typ, w.name, w.agent)
		}
		started := parseTime(t, e["started_at"])
		if started.Before(before) || started.After(time.Now().Add(time.Second)) {
			t.Errorf("%s: started_at %v is not now", w.name, started)
		}
		if w.typ != "log" {
			if e["status"] != "ok" {
				t.Errorf("%s: status = %v, want ok", w.name, e["status"])
			}
			if ended := parseTime(t, e["ended_at"]); ended.Before(started) {
				t.Errorf("%s: ended_at %v before started_at %v", w.name, ended, started)
			}
		}
		if w.parent != "" {
			if ps := parseTime(t, ev[w.parent]["started_at"]); started.Before(ps) {
				t.Errorf("%s starts before its parent", w.name)
			}
		}
	}
	if pe, ce := parseTime(t, ev[root.ID()]["ended_at"]), parseTime(t, ev[llm.ID()]["ended_at"]); pe.Before(ce) {
		t.Error("the parent ended before its child although End was called after")
	}
	ss := f.sessions()
	if len(ss) != 2 || ss[0]["id"] != session.ID() || ss[0]["status"] != "running" || ss[1]["status"] != "success" {
		t.Fatalf("session updates = %v", ss)
	}
	if ss[0]["name"] != "run" || ss[0]["agent"] != "planner" {
		t.Errorf("session start = %v", ss[0])
	}
	parseTime(t, ss[0]["started_at"])
	parseTime(t, ss[1]["ended_at"])
	if len(errs.all()) != 0 {
		t.Errorf("unexpected OnError calls: %v", errs.all())
	}
}

func TestSpanRecordsEveryFieldWithWireNames(t *testing.T) {
	f := newFakeServer(t)
	c, _ := newTestClient(t, f, agentlog.Config{})
	ctx, s := c.StartSession(context.Background(), agentlog.Session{
		ID: "session-1", Name: "n", Agent: "a", UserID: "user-9", Tags: []string{"x", "y"},
		Metadata: map[string]any{"env": "test", "n": 3},
	})
	_, sp := c.StartSpan(ctx, agentlog.TypeLLM, "first name", agentlog.WithInput("overwritten"))
	sp.SetName("chat")
	sp.SetInput(map[string]any{"messages": []string{"hi <there> & you"}})
	sp.SetOutput("hello")
	sp.SetModel("gpt-4o", "openai")
	sp.SetUsage(agentlog.Usage{InputTokens: 10, OutputTokens: 20, CachedTokens: 4})
	sp.SetCost(0.0125)
	sp.SetAttribute("temperature", 0.2)
	sp.SetAttribute("k", "first")
	sp.SetAttribute("k", "second")
	sp.SetTags("t1", "t2")
	sp.RecordError(fmt.Errorf("wrapped: %w", context.DeadlineExceeded))
	sp.End()
	sp.SetOutput("after end is ignored")
	s.End(agentlog.StatusFailure)
	flush(t, c)

	e := f.latest()[sp.ID()]
	if e == nil {
		t.Fatal("span not received")
	}
	if e["session_id"] != "session-1" || e["name"] != "chat" || e["type"] != "llm" {
		t.Errorf("ids/name/type: %v", e)
	}
	if in := canon(e["input"]); in != `{"messages":["hi <there> & you"]}` {
		t.Errorf("input = %s", in)
	}
	if e["output"] != "hello" || e["model"] != "gpt-4o" || e["provider"] != "openai" {
		t.Errorf("output/model/provider: %v %v %v", e["output"], e["model"], e["provider"])
	}
	u, _ := e["usage"].(map[string]any)
	if num(t, u["input_tokens"]) != 10 || num(t, u["output_tokens"]) != 20 || num(t, u["cached_tokens"]) != 4 {
		t.Errorf("usage = %v", u)
	}
	if _, ok := u["total_tokens"]; ok {
		t.Errorf("total_tokens sent although not set (the server computes it): %v", u)
	}
	if c, _ := e["cost_usd"].(json.Number).Float64(); c != 0.0125 {
		t.Errorf("cost_usd = %v", e["cost_usd"])
	}
	if attrs := canon(e["attributes"]); attrs != `{"k":"second","temperature":0.2}` {
		t.Errorf("attributes = %s", attrs)
	}
	if tags := canon(e["tags"]); tags != `["t1","t2"]` {
		t.Errorf("tags = %s", tags)
	}
	if e["status"] != "error" {
		t.Errorf("status = %v, want error", e["status"])
	}
	errObj, _ := e["error"].(map[string]any)
	if errObj["type"] != "context.deadlineExceededError" || errObj["message"] != "wrapped: context deadline exceeded" {
		t.Errorf("error = %v", errObj)
	}
	if !strings.Contains(str(errObj["stack"]), "TestSpanRecordsEveryFieldWithWireNames") {
		t.Errorf("error stack does not show the caller: %q", errObj["stack"])
	}
	ss := f.sessions()
	if len(ss) != 2 {
		t.Fatalf("sessions = %v", ss)
	}
	if ss[0]["user_id"] != "user-9" || canon(ss[0]["metadata"]) != `{"env":"test","n":3}` || canon(ss[0]["tags"]) != `["x","y"]` {
		t.Errorf("session start = %v", ss[0])
	}
	if ss[1]["status"] != "failure" || ss[1]["id"] != "session-1" {
		t.Errorf("session end = %v", ss[1])
	}
}

func TestLogDefaultsAndOverrides(t *testing.T) {
	f := newFakeServer(t)
	c, _ := newTestClient(t, f, agentlog.Config{Agent: "bot"})

	// Outside any session: the implicit session, created once.
	id1 := c.Log(context.Background(), agentlog.Event{Name: "a"})
	id2 := c.Log(context.TODO(), agentlog.Event{Name: "b", Type: agentlog.TypeMessage})
	start := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 3600))
	id3 := c.Log(context.Background(), agentlog.Event{
		ID: "my-id", SessionID: "other", ParentID: "p-1", Name: "c", Agent: "someone",
		StartedAt: start, EndedAt: start.Add(-time.Hour), // ends before it starts: moved
		Error: &agentlog.ErrorInfo{Type: "Timeout", Message: "slow", Stack: "here"},
		Input: json.RawMessage(` {"raw" : [1, 2]} `), TraceID: "trace", SpanID: "span",
	})
	flush(t, c)

	if id3 != "my-id" || !uuidV7.MatchString(id1) || id1 == id2 {
		t.Fatalf("ids: %q %q %q", id1, id2, id3)
	}
	ev := f.latest()
	ss := f.sessions()
	if len(ss) != 1 || ss[0]["status"] != "running" || ss[0]["agent"] != "bot" {
		t.Fatalf("want one implicit session start, got %v", ss)
	}
	implicit := ss[0]["id"]
	for _, id := range []string{id1, id2} {
		if ev[id]["session_id"] != implicit || ev[id]["agent"] != "bot" || ev[id]["parent_id"] != nil {
			t.Errorf("event %s: %v", id, ev[id])
		}
	}
	if ev[id1]["type"] != "log" || ev[id2]["type"] != "message" {
		t.Errorf("types: %v %v", ev[id1]["type"], ev[id2]["type"])
	}
	e := ev["my-id"]
	if e["session_id"] != "other" || e["parent_id"] != "p-1" || e["agent"] != "someone" || e["trace_id"] != "trace" || e["span_id"] != "span" {
		t.Errorf("overrides not applied: %v", e)
	}
	if e["started_at"] != "2026-01-02T02:04:05.123456Z" || e["ended_at"] != e["started_at"] {
		t.Errorf("times: %v %v", e["started_at"], e["ended_at"])
	}
	if in := canon(e["input"]); in != `{"raw":[1,2]}` {
		t.Errorf("raw input = %s", in)
	}
	if e["status"] != nil {
		t.Errorf("status sent although not set (the server derives it): %v", e["status"])
	}
	if got := canon(e["error"]); got != `{"message":"slow","stack":"here","type":"Timeout"}` {
		t.Errorf("error = %s", got)
	}

	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ss = f.sessions()
	if len(ss) != 2 || ss[1]["id"] != implicit || ss[1]["status"] != "success" {
		t.Errorf("Close did not end the implicit session: %v", ss)
	}
}

func TestSessionEndCountsOnceAndUpdateSendsChanges(t *testing.T) {
	f := newFakeServer(t)
	c, errs := newTestClient(t, f, agentlog.Config{})
	_, s := c.StartSession(context.Background(), agentlog.Session{})
	s.Update(agentlog.Session{Name: "renamed", Tags: []string{}})
	s.End("")
	s.End(agentlog.StatusFailure)
	_, s2 := c.StartSession(context.Background(), agentlog.Session{})
	s2.End("exploded")
	flush(t, c)
	ss := f.sessions()
	if len(ss) != 5 {
		t.Fatalf("want 5 session updates, got %d: %v", len(ss), ss)
	}
	if !uuidV7.MatchString(s.ID()) || ss[0]["id"] != s.ID() {
		t.Errorf("generated session id %q", s.ID())
	}
	if ss[1]["name"] != "renamed" || ss[1]["status"] != nil || ss[1]["started_at"] != nil {
		t.Errorf("update = %v", ss[1])
	}
	if tags, ok := ss[1]["tags"].([]any); !ok || len(tags) != 0 {
		t.Errorf("empty tags should be sent to clear them: %v", ss[1])
	}
	if ss[2]["status"] != "success" {
		t.Errorf("End(\"\") = %v", ss[2])
	}
	if ss[4]["status"] != "failure" || errs.count(agentlog.CodeInvalidValue) != 1 {
		t.Errorf("unknown status: %v, reports %v", ss[4], errs.codes())
	}
}

// Thousands of goroutines record nested spans at once; every event arrives exactly
// once with the right parent, and nothing is dropped. Run with -race.
func TestConcurrentSpansFromThousandsOfGoroutines(t *testing.T) {
	const goroutines = 4000
	f := newFakeServer(t)
	c, errs := newTestClient(t, f, agentlog.Config{MaxQueueSize: 4 * goroutines, MaxBatchSize: 500})
	ctx, session := c.StartSession(context.Background(), agentlog.Session{Name: "load"})
	ctx, root := c.StartSpan(ctx, agentlog.TypeAgent, "root")

	var wg sync.WaitGroup
	type ids struct{ step, tool, log string }
	got := make([]ids, goroutines)
	start := make(chan struct{})
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			<-start
			sctx, step := c.StartSpan(ctx, agentlog.TypeStep, fmt.Sprintf("step-%d", g))
			tctx, tool := c.StartSpan(sctx, agentlog.TypeTool, "tool")
			tool.SetInput(g)
			logID := c.Log(tctx, agentlog.Event{Name: "log"})
			tool.End()
			step.SetAttribute("g", g)
			step.End()
			got[g] = ids{step.ID(), tool.ID(), logID}
		}(g)
	}
	close(start)
	wg.Wait()
	root.End()
	session.End(agentlog.StatusSuccess)
	flush(t, c)

	all := f.events()
	if want := 3*goroutines + 1; len(all) != want {
		t.Fatalf("received %d events, want %d", len(all), want)
	}
	ev := f.latest()
	if len(ev) != len(all) {
		t.Fatalf("%d duplicate event ids", len(all)-len(ev))
	}
	for g, id := range got {
		step, tool, log := ev[id.step], ev[id.tool], ev[id.log]
		if step == nil || tool == nil || log == nil {
			t.Fatalf("goroutine %d: events missing", g)
		}
		if step["parent_id"] != root.ID() || tool["parent_id"] != id.step || log["parent_id"] != id.tool {
			t.Fatalf("goroutine %d: wrong parents: step→%v tool→%v log→%v", g, step["parent_id"], tool["parent_id"], log["parent_id"])
		}
		if step["name"] != fmt.Sprintf("step-%d", g) || num(t, tool["input"]) != int64(g) {
			t.Fatalf("goroutine %d: fields crossed between goroutines: %v %v", g, step["name"], tool["input"])
		}
		for _, e := range []wireEvent{step, tool, log} {
			if e["session_id"] != session.ID() {
				t.Fatalf("goroutine %d: session_id %v", g, e["session_id"])
			}
		}
	}
	st := c.Stats()
	if st.Dropped != 0 || st.Failed != 0 || st.Rejected != 0 || st.Sent != st.Enqueued || st.Queued != 0 {
		t.Errorf("stats = %+v", st)
	}
	if len(errs.all()) != 0 {
		t.Errorf("OnError: %v", errs.all())
	}
}

func TestNilAndDisabledClientsRecordNothing(t *testing.T) {
	var c *agentlog.Client
	ctx, s := c.StartSession(context.Background(), agentlog.Session{Name: "x"})
	ctx, sp := c.StartSpan(ctx, agentlog.TypeTool, "t")
	sp.SetInput(1)
	sp.RecordError(errors.New("x"))
	sp.End()
	s.End(agentlog.StatusSuccess)
	if id := c.Log(ctx, agentlog.Event{}); id != "" || sp != nil || s != nil || sp.ID() != "" {
		t.Error("nil client recorded something")
	}
	if c.Flush(ctx) != nil || c.Close(ctx) != nil || c.Stats() != (agentlog.Stats{}) {
		t.Error("nil client methods")
	}

	f := newFakeServer(t)
	t.Setenv("AGENTLOG_DISABLED", "true")
	d, _ := newTestClient(t, f, agentlog.Config{})
	_, sp = d.StartSpan(context.Background(), agentlog.TypeTool, "t")
	sp.End()
	d.Log(context.Background(), agentlog.Event{})
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(f.snapshot()); n != 0 || d.Stats().Enqueued != 0 {
		t.Errorf("disabled client made %d requests", n)
	}
}

func TestNewReadsEnvironmentAndValidates(t *testing.T) {
	f := newFakeServer(t)
	t.Setenv("AGENTLOG_URL", f.URL+"/")
	t.Setenv("AGENTLOG_API_KEY", "env-key")
	c, err := agentlog.New(agentlog.Config{FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if c.URL() != f.URL {
		t.Errorf("URL = %q, want %q", c.URL(), f.URL)
	}
	c.Log(context.Background(), agentlog.Event{})
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	reqs := f.snapshot()
	if len(reqs) != 1 || reqs[0].auth != "Bearer env-key" {
		t.Fatalf("requests = %+v", reqs)
	}
	if reqs[0].ctype != "application/json" || !strings.HasPrefix(reqs[0].agent, "agentlog-go/") {
		t.Errorf("headers: content-type %q, user-agent %q", reqs[0].ctype, reqs[0].agent)
	}

	// Config wins over the environment.
	c, err = agentlog.New(agentlog.Config{URL: "http://127.0.0.1:1", APIKey: "k"})
	if err != nil || c.URL() != "http://127.0.0.1:1" {
		t.Fatalf("explicit config: %v %q", err, c.URL())
	}
	_ = c.Close(context.Background())

	for _, bad := range []agentlog.Config{
		{URL: "127.0.0.1:7654", APIKey: "k"},
		{URL: "ftp://host", APIKey: "k"},
		{URL: "http://", APIKey: "k"},
		{URL: "http://[::1", APIKey: "k"},
	} {
		if c, err := agentlog.New(bad); err == nil || c != nil {
			t.Errorf("New(%+v) = %v, %v; want an error and a nil client", bad, c, err)
		}
	}
	t.Setenv("AGENTLOG_API_KEY", "")
	if _, err := agentlog.New(agentlog.Config{URL: f.URL}); err == nil || !strings.Contains(err.Error(), "API key") {
		t.Errorf("no key: %v", err)
	}
}

// Values the server would refuse are fixed before they are sent: the batch is always
// valid JSON, every field within the documented limits, and each kind of problem is
// reported once.
func TestInvalidValuesAreFixedAndReportedOnce(t *testing.T) {
	f := newFakeServer(t)
	c, errs := newTestClient(t, f, agentlog.Config{})
	ctx, _ := c.StartSession(context.Background(), agentlog.Session{ID: strings.Repeat("s", 300)})
	deep := any("leaf")
	for i := 0; i < 300; i++ {
		deep = []any{deep}
	}
	type selfRef struct{ Next *selfRef }
	loop := &selfRef{}
	loop.Next = loop
	for i := 0; i < 2; i++ { // the second round must not report again
		_, sp := c.StartSpan(ctx, agentlog.EventType("bogus"), "bad\xffname"+strings.Repeat("n", 2000))
		sp.SetInput(make(chan int))
		sp.SetOutput(json.RawMessage(`{"s":"\ud800 lone", "ok":"\ud83d\ude00"}`))
		sp.SetUsage(agentlog.Usage{InputTokens: 5, OutputTokens: math.MaxInt64, CachedTokens: -1})
		sp.SetCost(math.NaN())
		sp.SetAttribute("deep", deep)
		sp.SetAttribute("loop", loop)
		sp.SetAttribute("big", strings.Repeat("x", 2_000_000))
		sp.SetModel(strings.Repeat("m", 300), "")
		sp.SetTags(make([]string, 150)...)
		sp.SetStatus("weird")
		sp.End()
		c.Log(ctx, agentlog.Event{Input: json.RawMessage(`{not json`), Output: "\xff\xfe"})
	}
	flush(t, c)

	for _, e := range f.events() {
		if len(str(e["session_id"])) > 128 || len(str(e["name"])) > 1024 || len(str(e["model"])) > 256 {
			t.Errorf("field over its limit: session_id %d, name %d, model %d bytes",
				len(str(e["session_id"])), len(str(e["name"])), len(str(e["model"])))
		}
		for k, v := range e {
			if s, ok := v.(string); ok && !utf8.ValidString(s) {
				t.Errorf("%s is not valid UTF-8", k)
			}
		}
		if e["type"] == "log" {
			continue
		}
		if e["type"] != "custom" || e["status"] != "ok" || e["cost_usd"] != nil {
			t.Errorf("type/status/cost not fixed: %v %v %v", e["type"], e["status"], e["cost_usd"])
		}
		if !strings.HasPrefix(str(e["name"]), "bad\uFFFDnamennn") {
			t.Errorf("name = %.20q", e["name"])
		}
		if out := canon(e["output"]); out != "{\"ok\":\"😀\",\"s\":\"\uFFFD lone\"}" {
			t.Errorf("output = %s", out)
		}
		u := e["usage"].(map[string]any)
		if _, ok := u["cached_tokens"]; ok || num(t, u["input_tokens"]) != 5 || num(t, u["total_tokens"]) != math.MaxInt64 {
			t.Errorf("usage = %v", u)
		}
		attrs := e["attributes"].(map[string]any)
		if _, ok := attrs["deep"].(string); !ok {
			t.Errorf("deep attribute not replaced: %T", attrs["deep"])
		}
		if canon(attrs["loop"]) != `{"Next":"[Circular]"}` || str(e["input"]) != "[unserializable chan int]" {
			t.Errorf("unserializable values: %v / %v", attrs["loop"], e["input"])
		}
		if len(str(attrs["big"])) > 1_000_000 {
			t.Errorf("big attribute kept at %d bytes", len(str(attrs["big"])))
		}
		if tags := e["tags"].([]any); len(tags) != 100 {
			t.Errorf("%d tags sent", len(tags))
		}
	}
	// One report per kind of problem, however often it happens.
	seen := map[string]int{}
	for _, e := range errs.all() {
		if e.Code != agentlog.CodeInvalidValue {
			t.Errorf("unexpected report %v", e)
		}
		seen[e.Message]++
	}
	for msg, n := range seen {
		if n > 1 {
			t.Errorf("reported %d times: %s", n, msg)
		}
	}
	if len(seen) < 10 {
		t.Errorf("only %d kinds of problem reported: %v", len(seen), seen)
	}
}

func TestCloseStopsItsGoroutines(t *testing.T) {
	f := newFakeServer(t)
	before := runtime.NumGoroutine()
	c, err := agentlog.New(agentlog.Config{URL: f.URL, APIKey: testKey, OnError: func(error) {}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, s := c.StartSession(context.Background(), agentlog.Session{})
	_, sp := c.StartSpan(ctx, agentlog.TypeTool, "t")
	sp.End()
	s.End(agentlog.StatusSuccess)
	flush(t, c)
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type nilPointerError struct{ msg string }

func (e *nilPointerError) Error() string { return e.msg }

func TestErrorsWithPanickingErrorMethodsAreRecorded(t *testing.T) {
	f := newFakeServer(t)
	c, _ := newTestClient(t, f, agentlog.Config{})
	var typedNil *nilPointerError
	_, sp := c.StartSpan(context.Background(), agentlog.TypeTool, "t")
	sp.RecordError(typedNil) // a non-nil error interface holding a nil pointer
	sp.End()
	id := c.Log(context.Background(), agentlog.Event{Error: typedNil})
	flush(t, c)
	for _, e := range []wireEvent{f.latest()[sp.ID()], f.latest()[id]} {
		errObj, _ := e["error"].(map[string]any)
		if errObj["type"] != "*agentlog_test.nilPointerError" || !strings.Contains(str(errObj["message"]), "panicked") {
			t.Errorf("error = %v", errObj)
		}
	}
}

type conformanceError struct{ msg string }

func (e *conformanceError) Error() string { return e.msg }

func TestDoRecordsReturnedErrorsAndPanics(t *testing.T) {
	f := newFakeServer(t)
	c, _ := newTestClient(t, f, agentlog.Config{})
	ctx, s := c.StartSession(context.Background(), agentlog.Session{})
	deep := &conformanceError{"deep"}
	var outerID, innerID, okID string
	err := c.Do(ctx, agentlog.TypeStep, "propagates", func(ctx context.Context, sp *agentlog.Span) error {
		outerID = sp.ID()
		return c.Do(ctx, agentlog.TypeTool, "inner-fail", func(ctx context.Context, sp *agentlog.Span) error {
			innerID = sp.ID()
			return deep
		})
	})
	if err != deep {
		t.Fatalf("Do returned %v, want the very error fn returned", err)
	}
	if err := c.Do(ctx, agentlog.TypeTool, "fine", func(ctx context.Context, sp *agentlog.Span) error {
		okID = sp.ID()
		sp.SetOutput("done")
		return nil
	}, agentlog.WithInput("in")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	var panicID string
	func() {
		defer func() {
			if r := recover(); r != boom {
				t.Errorf("recovered %v, want the same panic value", r)
			}
		}()
		_ = c.Do(ctx, agentlog.TypeTool, "panics", func(ctx context.Context, sp *agentlog.Span) error {
			panicID = sp.ID()
			panic(boom)
		})
	}()
	s.End(agentlog.StatusSuccess)
	flush(t, c)

	ev := f.latest()
	for _, id := range []string{outerID, innerID} {
		e := ev[id]
		errObj, _ := e["error"].(map[string]any)
		if e["status"] != "error" || errObj["type"] != "*agentlog_test.conformanceError" || errObj["message"] != "deep" || str(errObj["stack"]) == "" {
			t.Errorf("%v: status %v error %v", e["name"], e["status"], errObj)
		}
	}
	if ev[innerID]["parent_id"] != outerID {
		t.Error("Do does not nest")
	}
	if e := ev[okID]; e["status"] != "ok" || e["error"] != nil || e["output"] != "done" || e["input"] != "in" {
		t.Errorf("fine = %v", e)
	}
	e := ev[panicID]
	errObj, _ := e["error"].(map[string]any)
	if e["status"] != "error" || errObj["type"] != "panic: *errors.errorString" || errObj["message"] != "boom" ||
		!strings.Contains(str(errObj["stack"]), "TestDoRecordsReturnedErrorsAndPanics") {
		t.Errorf("panicking span = %v", e)
	}

	var nilClient *agentlog.Client
	ran := false
	if err := nilClient.Do(context.Background(), agentlog.TypeTool, "x", func(ctx context.Context, sp *agentlog.Span) error {
		ran = true
		sp.SetOutput(1)
		return nil
	}); err != nil || !ran {
		t.Error("a nil client must still run fn")
	}
}

type failingMarshaler struct{}

func (failingMarshaler) MarshalJSON() ([]byte, error) { return nil, errors.New("cannot") }

type Embedded struct {
	Promoted string `json:"promoted"`
}

type withBadField struct {
	Embedded
	Name    string `json:"name"`
	Skipped string `json:"-"`
	Empty   string `json:"empty,omitempty"`
	Ch      chan int
	Score   float64 `json:"score"`
	private int
	Next    *withBadField `json:"next"`
}

// One bad member of a value costs only itself: cycles, NaN, channels and failing
// MarshalJSON methods are replaced by descriptions, the rest is kept.
func TestUnencodableMembersCostOnlyThemselves(t *testing.T) {
	f := newFakeServer(t)
	c, errs := newTestClient(t, f, agentlog.Config{})
	circular := map[string]any{"name": "loop"}
	circular["self"] = circular
	list := []any{1, nil}
	list[1] = list
	st := &withBadField{Embedded: Embedded{"p"}, Name: "n", Skipped: "s", Ch: make(chan int), Score: math.Inf(1), private: 1}
	st.Next = st
	ids := []string{
		c.Log(context.Background(), agentlog.Event{Input: circular}),
		c.Log(context.Background(), agentlog.Event{Output: map[string]any{"nan": math.NaN(), "inf": math.Inf(1), "ok": true}}),
		c.Log(context.Background(), agentlog.Event{Input: map[string]any{"ok": 1, "broken": failingMarshaler{}}}),
		c.Log(context.Background(), agentlog.Event{Input: map[string]any{"fn": func() {}, "other": make(chan int), "n": 12345678901234567890.0}}),
		c.Log(context.Background(), agentlog.Event{Input: list}),
		c.Log(context.Background(), agentlog.Event{Input: st}),
		c.Log(context.Background(), agentlog.Event{Output: map[string]any{"value": uint64(12345678901234567890)}}),
	}
	flush(t, c)
	ev := f.latest()
	want := []string{
		`{"name":"loop","self":"[Circular]"}`,
		`{"inf":"+Inf","nan":"NaN","ok":true}`,
		`{"broken":"[unserializable agentlog_test.failingMarshaler: json: error calling MarshalJSON for type agentlog_test.failingMarshaler: cannot]","ok":1}`,
		`{"fn":"[unserializable func()]","n":12345678901234567000,"other":"[unserializable chan int]"}`,
		`[1,"[Circular]"]`,
		`{"Ch":"[unserializable chan int]","name":"n","next":"[Circular]","promoted":"p","score":"+Inf"}`,
		`{"value":12345678901234567890}`,
	}
	for i, id := range ids {
		e := ev[id]
		v := e["input"]
		if v == nil {
			v = e["output"]
		}
		if got := canon(v); got != want[i] {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, want[i])
		}
	}
	if n := errs.count(agentlog.CodeInvalidValue); n != 2 { // one per field (input, output)
		t.Errorf("%d reports: %v", n, errs.all())
	}
}
