package agentlog_test

// Benchmarks. The hot path (recording one span: StartSpan + End) has a budget of
// 5 µs and 10 allocations (DESIGN.md §10); BenchmarkEndToEnd reports the events per
// second delivered to the real server and acknowledged as committed. bench.sh runs
// them and prints JSON.

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	agentlog "github.com/agentlog/agentlog/sdks/go"
)

// benchClient delivers to an endpoint that discards, so the background sender stays
// cheap and the numbers are those of recording.
func benchClient(b *testing.B) *agentlog.Client {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte(`{}`))
	}))
	b.Cleanup(srv.Close)
	c, err := agentlog.New(agentlog.Config{URL: srv.URL, APIKey: "k", MaxQueueSize: 100_000, OnError: func(error) {}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// Recording one span: StartSpan and End inside a session and a parent span.
func BenchmarkSpan(b *testing.B) {
	c := benchClient(b)
	ctx, _ := c.StartSession(context.Background(), agentlog.Session{Name: "bench"})
	ctx, parent := c.StartSpan(ctx, agentlog.TypeAgent, "parent")
	defer parent.End()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, sp := c.StartSpan(ctx, agentlog.TypeTool, "search")
		sp.End()
	}
}

// A typical LLM span: model, input and output strings, usage and cost.
func BenchmarkSpanWithFields(b *testing.B) {
	c := benchClient(b)
	ctx, _ := c.StartSession(context.Background(), agentlog.Session{Name: "bench"})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, sp := c.StartSpan(ctx, agentlog.TypeLLM, "chat")
		sp.SetModel("gpt-4o", "openai")
		sp.SetInput("What is the capital of France?")
		sp.SetOutput("The capital of France is Paris.")
		sp.SetUsage(agentlog.Usage{InputTokens: 12, OutputTokens: 8})
		sp.SetCost(0.00012)
		sp.End()
	}
}

// Recording one event with Log.
func BenchmarkLog(b *testing.B) {
	c := benchClient(b)
	ctx, _ := c.StartSession(context.Background(), agentlog.Session{Name: "bench"})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Log(ctx, agentlog.Event{Type: agentlog.TypeMessage, Name: "reply", Output: "ok"})
	}
}

// Spans from all Ps at once (contention on the queue and the open-span registry).
func BenchmarkSpanParallel(b *testing.B) {
	c := benchClient(b)
	ctx, _ := c.StartSession(context.Background(), agentlog.Session{Name: "bench"})
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, sp := c.StartSpan(ctx, agentlog.TypeTool, "search")
			sp.End()
		}
	})
}

// Events per second delivered end to end: b.N spans recorded as fast as possible into
// the real server, timed until Flush returns (every batch acknowledged as committed).
// Run with a fixed count, e.g. -benchtime=100000x.
func BenchmarkEndToEnd(b *testing.B) {
	s := startServer(b)
	c, err := agentlog.New(agentlog.Config{
		URL: s.URL, APIKey: e2eKey, MaxQueueSize: b.N + 10, MaxQueueBytes: 1 << 30,
		OnError: func(err error) { b.Error(err) },
	})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())
	ctx, session := c.StartSession(context.Background(), agentlog.Session{Name: "bench"})
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		_, sp := c.StartSpan(ctx, agentlog.TypeTool, "search")
		sp.SetUsage(agentlog.Usage{InputTokens: 10, OutputTokens: 5})
		sp.End()
	}
	ctxFlush, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := c.Flush(ctxFlush); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	st := c.Stats()
	if st.Dropped != 0 || st.Failed != 0 || st.Sent != st.Enqueued {
		b.Fatalf("not everything was delivered: %+v", st)
	}
	b.ReportMetric(float64(st.Requests), "requests")
	var got apiSession
	s.get(b, "/v1/sessions/"+session.ID(), &got)
	if got.EventCount != b.N {
		b.Fatalf("the server has %d events, want %d", got.EventCount, b.N)
	}
}
