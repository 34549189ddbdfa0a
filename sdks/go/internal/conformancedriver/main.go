// Command conformancedriver plays the scenarios of the SDK conformance suite
// (tests/conformance/scenarios.json; their "steps" are the specification) with this
// SDK: `conformancedriver <scenario>` prints one JSON result line. It follows the
// driver protocol of tests/conformance/README.md: AGENTLOG_URL and AGENTLOG_API_KEY are
// read by the SDK itself; AGENTLOG_CONFORMANCE_SESSION is the session id to record
// into and AGENTLOG_CONFORMANCE_PARAMS the scenario's parameters (JSON).
//
// It lives in the SDK module so it always builds against the current API; a
// drivers/go/ entry of the suite only needs to build it:
//
//	go build -C sdks/go -o "$OUT" ./internal/conformancedriver
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	agentlog "github.com/agentlog/agentlog/sdks/go"
)

var (
	scenario string
	session  = os.Getenv("AGENTLOG_CONFORMANCE_SESSION")
	params   = map[string]float64{}

	reportedMu sync.Mutex
	reported   = map[string]int{} // OnError reports by code
)

func main() {
	if len(os.Args) > 1 {
		scenario = os.Args[len(os.Args)-1]
	}
	if p := os.Getenv("AGENTLOG_CONFORMANCE_PARAMS"); p != "" {
		if err := json.Unmarshal([]byte(p), &params); err != nil {
			fail(fmt.Errorf("AGENTLOG_CONFORMANCE_PARAMS: %w", err))
		}
	}
	play, ok := scenarios[scenario]
	if !ok {
		out(map[string]any{"scenario": scenario, "unsupported": true, "reason": "unknown scenario " + scenario})
		os.Exit(3)
	}
	if err := play(); err != nil {
		fail(err)
	}
}

var scenarios = map[string]func() error{
	"nested_spans":          nestedSpans,
	"exception_recorded":    exceptionRecorded,
	"concurrent_10k":        concurrent10k,
	"faults_then_recovery":  manyEvents,
	"server_down_at_start":  manyEvents,
	"queue_overflow":        queueOverflow,
	"short_lived_shutdown":  shortLivedShutdown,
	"exit_without_shutdown": exitWithoutShutdown,
	"invalid_values":        invalidValues,
}

func newClient(cfg agentlog.Config) *agentlog.Client {
	cfg.OnError = func(err error) {
		var e *agentlog.Error
		code := "other"
		if errors.As(err, &e) {
			code = string(e.Code)
		}
		reportedMu.Lock()
		reported[code]++
		reportedMu.Unlock()
		fmt.Fprintf(os.Stderr, "[driver] OnError %v\n", err)
	}
	if v, ok := params["retry_initial_delay_ms"]; ok {
		cfg.MinRetryDelay = time.Duration(v * float64(time.Millisecond))
	}
	if v, ok := params["retry_max_delay_ms"]; ok {
		cfg.MaxRetryDelay = time.Duration(v * float64(time.Millisecond))
	}
	c, err := agentlog.New(cfg)
	if err != nil {
		fail(err)
	}
	return c
}

func reports(code agentlog.ErrorCode) int {
	reportedMu.Lock()
	defer reportedMu.Unlock()
	return reported[string(code)]
}

func out(v map[string]any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"scenario":%q,"ok":false,"error":%q}`, scenario, err.Error()))
	}
	fmt.Println(string(b))
}

func emit(result map[string]any, c *agentlog.Client) {
	result["scenario"] = scenario
	if _, ok := result["ok"]; !ok {
		result["ok"] = true
	}
	st := c.Stats()
	result["stats"] = map[string]any{
		"sent": st.Sent, "dropped": st.Dropped, "failed": st.Failed, "rejected": st.Rejected,
		"retries": st.Retries, "requests": st.Requests, "enqueued": st.Enqueued,
	}
	reportedMu.Lock()
	result["reported"] = reported
	out(result)
	reportedMu.Unlock()
}

func fail(err error) {
	out(map[string]any{"scenario": scenario, "ok": false, "error": err.Error()})
	os.Exit(1)
}

func param(name string) int { return int(params[name]) }

func flush(c *agentlog.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := c.Flush(ctx)
	var e *agentlog.Error
	if errors.As(err, &e) { // items were lost: the scenario's checks judge that
		fmt.Fprintf(os.Stderr, "[driver] Flush: %v\n", err)
		return nil
	}
	return err
}

func closeClient(c *agentlog.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "[driver] Close: %v\n", err)
	}
}

func sleep(ms int) { time.Sleep(time.Duration(ms) * time.Millisecond) }

func nestedSpans() error {
	c := newClient(agentlog.Config{})
	ctx, s := c.StartSession(context.Background(), agentlog.Session{
		ID: session, Name: "conformance nested", Agent: "conformance-agent", UserID: "user-42",
		Tags: []string{"conformance", "nested"}, Metadata: map[string]any{"suite": "conformance"},
	})
	err := c.Do(ctx, agentlog.TypeAgent, "root", func(ctx context.Context, root *agentlog.Span) error {
		sleep(5)
		err := c.Do(ctx, agentlog.TypeStep, "plan", func(ctx context.Context, _ *agentlog.Span) error {
			sleep(2)
			_ = c.Do(ctx, agentlog.TypeLLM, "call-1", func(ctx context.Context, sp *agentlog.Span) error {
				sp.SetModel("test-model", "test-provider")
				sleep(2)
				sp.SetUsage(agentlog.Usage{InputTokens: 10, OutputTokens: 5})
				sp.SetCost(0.001)
				sp.SetOutput(map[string]any{"text": "hi"})
				return nil
			})
			var wg sync.WaitGroup
			for _, b := range []struct {
				tool, fetch      string
				before, duration int
			}{{"search-a", "fetch-a", 6, 1}, {"search-b", "fetch-b", 1, 6}} {
				wg.Add(1)
				go func(tool, fetch string, before, duration int) {
					defer wg.Done()
					_ = c.Do(ctx, agentlog.TypeTool, tool, func(ctx context.Context, _ *agentlog.Span) error {
						sleep(before)
						return c.Do(ctx, agentlog.TypeRetrieval, fetch, func(context.Context, *agentlog.Span) error {
							sleep(duration)
							return nil
						})
					})
				}(b.tool, b.fetch, b.before, b.duration)
			}
			wg.Wait()
			c.Log(ctx, agentlog.Event{Type: agentlog.TypeLog, Name: "note"})
			return nil
		})
		c.Log(ctx, agentlog.Event{
			Type: agentlog.TypeLLM, Name: "answer", Model: "test-model", Input: "summarize", Output: "done",
			Usage: agentlog.Usage{InputTokens: 7, OutputTokens: 3}, CostUSD: 0.0005,
		})
		root.SetOutput(map[string]any{"answer": 42})
		return err
	}, agentlog.WithInput(map[string]any{"question": "q"}))
	if err != nil {
		return err
	}
	s.End(agentlog.StatusSuccess)
	if err := flush(c); err != nil {
		return err
	}
	emit(map[string]any{}, c)
	closeClient(c)
	return nil
}

// ConformanceError is the error type of exception_recorded; the SDK records its type
// as *main.ConformanceError.
type ConformanceError struct{ msg string }

func (e *ConformanceError) Error() string { return e.msg }

func exceptionRecorded() error {
	c := newClient(agentlog.Config{})
	ctx, s := c.StartSession(context.Background(), agentlog.Session{ID: session})
	caught, same := 0, 0
	check := func(err, want error) {
		if err != nil {
			caught++
		}
		if err == want {
			same++
		}
	}
	err := c.Do(ctx, agentlog.TypeAgent, "outer", func(ctx context.Context, outer *agentlog.Span) error {
		async := &ConformanceError{"boom-async"}
		check(c.Do(ctx, agentlog.TypeTool, "fails-async", func(context.Context, *agentlog.Span) error {
			sleep(1)
			return async
		}), async)
		sync := &ConformanceError{"boom-sync"}
		check(c.Do(ctx, agentlog.TypeTool, "fails-sync", func(context.Context, *agentlog.Span) error {
			return sync
		}), sync)
		deep := &ConformanceError{"deep"}
		check(c.Do(ctx, agentlog.TypeStep, "propagates", func(ctx context.Context, _ *agentlog.Span) error {
			return c.Do(ctx, agentlog.TypeTool, "inner-fail", func(context.Context, *agentlog.Span) error {
				sleep(1)
				return deep
			})
		}), deep)
		outer.SetOutput("recovered")
		return nil
	})
	if err != nil {
		return err
	}
	s.End(agentlog.StatusSuccess)
	if err := flush(c); err != nil {
		return err
	}
	emit(map[string]any{"rethrown_same": same, "caught": caught}, c)
	closeClient(c)
	return nil
}

func concurrent10k() error {
	c := newClient(agentlog.Config{})
	ctx, s := c.StartSession(context.Background(), agentlog.Session{ID: session})
	tasks, per := param("tasks"), param("events_per_task")
	var wg sync.WaitGroup
	for t := 0; t < tasks; t++ {
		wg.Add(1)
		go func(t int) {
			defer wg.Done()
			_ = c.Do(ctx, agentlog.TypeAgent, fmt.Sprintf("task-%d", t), func(ctx context.Context, sp *agentlog.Span) error {
				sp.SetAttribute("task", t)
				for i := 0; i < per; i++ {
					c.Log(ctx, agentlog.Event{Type: agentlog.TypeLog, Name: "ev",
						Attributes: map[string]any{"task": t, "seq": t*per + i}})
					if i%10 == 9 {
						runtime.Gosched()
					}
				}
				return nil
			})
		}(t)
	}
	wg.Wait()
	s.End(agentlog.StatusSuccess)
	if err := flush(c); err != nil {
		return err
	}
	emit(map[string]any{}, c)
	closeClient(c)
	return nil
}

// manyEvents plays faults_then_recovery and server_down_at_start: the proxy does the rest.
func manyEvents() error {
	cfg := agentlog.Config{}
	if n := param("batch_size"); n > 0 {
		cfg.MaxBatchSize = n
	}
	c := newClient(cfg)
	ctx, s := c.StartSession(context.Background(), agentlog.Session{ID: session})
	for i := 0; i < param("events"); i++ {
		c.Log(ctx, agentlog.Event{Type: agentlog.TypeLog, Name: "ev", Attributes: map[string]any{"seq": i}})
		if i%100 == 99 {
			runtime.Gosched()
		}
	}
	s.End(agentlog.StatusSuccess)
	start := time.Now()
	if err := flush(c); err != nil {
		return err
	}
	emit(map[string]any{"flush_ms": float64(time.Since(start).Microseconds()) / 1000}, c)
	closeClient(c)
	return nil
}

func queueOverflow() error {
	c := newClient(agentlog.Config{MaxQueueSize: param("max_queue_size"), MaxBatchSize: param("max_batch_size")})
	start := time.Now()
	for i := 0; i < param("events"); i++ {
		c.Log(context.Background(), agentlog.Event{SessionID: session, Type: agentlog.TypeLog, Name: "ev",
			Attributes: map[string]any{"seq": i}})
	}
	burst := time.Since(start)
	if err := flush(c); err != nil {
		return err
	}
	emit(map[string]any{
		"burst_ms":         float64(burst.Microseconds()) / 1000,
		"overflow_reports": reports(agentlog.CodeQueueOverflow),
	}, c)
	closeClient(c)
	return nil
}

func shortLivedShutdown() error {
	c := newClient(agentlog.Config{FlushInterval: time.Duration(param("flush_interval_ms")) * time.Millisecond})
	ctx, s := c.StartSession(context.Background(), agentlog.Session{ID: session})
	_ = c.Do(ctx, agentlog.TypeAgent, "job", func(ctx context.Context, _ *agentlog.Span) error {
		for i := 0; i < param("events")-1; i++ {
			c.Log(ctx, agentlog.Event{Type: agentlog.TypeLog, Name: "ev", Attributes: map[string]any{"seq": i}})
		}
		return nil
	})
	s.End(agentlog.StatusSuccess)
	closeClient(c)
	emit(map[string]any{}, c)
	os.Exit(0)
	return nil
}

func exitWithoutShutdown() error {
	out(map[string]any{"scenario": scenario, "unsupported": true,
		"reason": "Go has no exit hook: programs call Client.Close (see short_lived_shutdown)"})
	return nil
}

type failingMarshaler struct{}

func (failingMarshaler) MarshalJSON() ([]byte, error) { return nil, errors.New("serialization failed") }

func invalidValues() error {
	c := newClient(agentlog.Config{})
	ctx, s := c.StartSession(context.Background(), agentlog.Session{ID: session})
	circular := map[string]any{"name": "loop"}
	circular["self"] = circular
	var deep any = "bottom"
	for i := 0; i < 1000; i++ {
		deep = []any{deep}
	}
	tags := make([]string, 0, 151)
	for i := 0; i < 150; i++ {
		tags = append(tags, fmt.Sprint("t", i))
	}
	tags = append(tags, strings.Repeat("T", 300))
	cases := []struct {
		name string
		ev   agentlog.Event
	}{
		{"circular", agentlog.Event{Input: circular}},
		{"big_integer", agentlog.Event{Output: map[string]any{"value": uint64(12345678901234567890)}}},
		{"huge_string", agentlog.Event{Input: strings.Repeat("x", 5_000_000)}},
		// Go strings are bytes: the UTF-8 encodings of lone surrogates are invalid UTF-8.
		{"lone_surrogate", agentlog.Event{Name: "bad-\xed\xa0\x80-name", Input: map[string]any{"text": "a\xed\xb0\x80b"}}},
		{"invalid_utf8", agentlog.Event{Input: map[string]any{"data": "\xff\xfeA"}}},
		{"deep_nesting", agentlog.Event{Input: deep}},
		{"non_finite_numbers", agentlog.Event{Output: map[string]any{"nan": math.NaN(), "inf": math.Inf(1), "ok": true}}},
		{"huge_name", agentlog.Event{Name: strings.Repeat("n", 5000)}},
		{"many_tags", agentlog.Event{Tags: tags}},
		{"throwing_getter", agentlog.Event{Input: map[string]any{"ok": 1, "broken": failingMarshaler{}}}},
		{"unsupported_types", agentlog.Event{Input: map[string]any{"fn": func() int { return 1 }, "other": make(chan int)}}},
	}
	threw := []string{}
	results := map[string]string{}
	delivery := func() int { return reports(agentlog.CodeRejected) + reports(agentlog.CodeDeliveryFailed) }
	for _, tc := range cases {
		before := delivery()
		ev := tc.ev
		ev.Type = agentlog.TypeLog
		if ev.Name == "" {
			ev.Name = "case-" + tc.name
		}
		ev.Attributes = map[string]any{"case": tc.name}
		func() {
			defer func() {
				if r := recover(); r != nil {
					threw = append(threw, tc.name)
				}
			}()
			c.Log(ctx, ev)
		}()
		if err := flush(c); err != nil {
			return err
		}
		results[tc.name] = "logged"
		if delivery() > before {
			results[tc.name] = "reported"
		}
	}
	s.End(agentlog.StatusSuccess)
	if err := flush(c); err != nil {
		return err
	}
	emit(map[string]any{"threw": threw, "cases": results}, c)
	closeClient(c)
	return nil
}
