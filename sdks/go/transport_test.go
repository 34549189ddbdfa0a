package agentlog_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	agentlog "github.com/agentlog/agentlog/sdks/go"
)

func logN(c *agentlog.Client, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = c.Log(context.Background(), agentlog.Event{Name: "e" + strconv.Itoa(i)})
	}
	return ids
}

func eventIDs(body []byte) []string {
	var b struct {
		Events []struct {
			ID string `json:"id"`
		} `json:"events"`
	}
	_ = json.Unmarshal(body, &b)
	var out []string
	for _, e := range b.Events {
		out = append(out, e.ID)
	}
	return out
}

func TestRetriesServerErrorsWithTheSameIDs(t *testing.T) {
	f := newFakeServer(t)
	var mu sync.Mutex
	var bodies [][]string
	f.setRespond(func(w http.ResponseWriter, r *http.Request, n int, body []byte) bool {
		mu.Lock()
		bodies = append(bodies, eventIDs(body))
		mu.Unlock()
		switch n {
		case 0:
			w.WriteHeader(http.StatusInternalServerError)
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			w.WriteHeader(http.StatusRequestTimeout)
		default:
			return false
		}
		return true
	})
	c, errs := newTestClient(t, f, agentlog.Config{})
	ids := logN(c, 5)
	flush(t, c)

	st := c.Stats()
	if st.Requests != 4 || st.Retries != 3 || st.Sent != 6 || st.Failed != 0 {
		t.Errorf("stats = %+v", st)
	}
	// Every attempt carried the same client-made ids: a retry after a lost answer
	// replaces what was stored instead of duplicating it.
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 4 {
		t.Fatalf("%d bodies", len(bodies))
	}
	for i, b := range bodies {
		if strings.Join(b, ",") != strings.Join(ids, ",") {
			t.Errorf("attempt %d sent ids %v, want %v", i, b, ids)
		}
	}
	if len(f.latest()) != 5 || len(errs.all()) != 0 {
		t.Errorf("events %d, errors %v", len(f.latest()), errs.all())
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		header func() string
		wait   time.Duration
	}{
		{"429 seconds", http.StatusTooManyRequests, func() string { return "1" }, time.Second},
		{"503 http date", http.StatusServiceUnavailable, func() string {
			// HTTP dates have whole seconds: at least one full second from now.
			return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat)
		}, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t)
			f.setRespond(func(w http.ResponseWriter, r *http.Request, n int, body []byte) bool {
				if n == 0 {
					w.Header().Set("Retry-After", tc.header())
					w.WriteHeader(tc.status)
					return true
				}
				return false
			})
			// Without Retry-After the backoff would be about a millisecond.
			c, _ := newTestClient(t, f, agentlog.Config{})
			logN(c, 1)
			flush(t, c)
			reqs := f.snapshot()
			if len(reqs) != 2 {
				t.Fatalf("%d requests, want 2", len(reqs))
			}
			if gap := reqs[1].at.Sub(reqs[0].at); gap < tc.wait-20*time.Millisecond || gap > tc.wait+3*time.Second {
				t.Errorf("retried after %v, want about %v", gap, tc.wait)
			}
		})
	}
}

func TestClientErrorsAreNotRetried(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 409, 415} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			f := newFakeServer(t)
			f.setRespond(func(w http.ResponseWriter, r *http.Request, n int, body []byte) bool {
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(status)
				_, _ = w.Write([]byte(`{"type":"urn:agentlog:problem:x","status":` + strconv.Itoa(status) + `,"detail":"nope"}`))
				return true
			})
			c, errs := newTestClient(t, f, agentlog.Config{})
			logN(c, 3)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := c.Flush(ctx)
			var ae *agentlog.Error
			if !errors.As(err, &ae) || ae.Count != 4 {
				t.Fatalf("Flush = %v, want an *Error counting 4 lost items", err)
			}
			st := c.Stats()
			if st.Requests != 1 || st.Retries != 0 || st.Failed != 4 || st.Sent != 0 {
				t.Errorf("stats = %+v", st)
			}
			got := errs.all()
			if len(got) != 1 || got[0].Code != agentlog.CodeDeliveryFailed || got[0].Status != status ||
				got[0].Count != 4 || !strings.Contains(got[0].Message, "nope") {
				t.Errorf("OnError = %+v", got)
			}
		})
	}
}

func TestNetworkErrorsAreRetried(t *testing.T) {
	f := newFakeServer(t)
	f.setRespond(func(w http.ResponseWriter, r *http.Request, n int, body []byte) bool {
		if n >= 2 {
			return false
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close() // connection reset without an answer
		}
		return true
	})
	c, errs := newTestClient(t, f, agentlog.Config{})
	logN(c, 2)
	flush(t, c)
	if st := c.Stats(); st.Sent != 3 || st.Retries < 2 || st.Failed != 0 {
		t.Errorf("stats = %+v, errors %v", st, errs.all())
	}
}

func TestRequestTimeoutIsRetried(t *testing.T) {
	f := newFakeServer(t)
	release := make(chan struct{})
	defer close(release)
	f.setRespond(func(w http.ResponseWriter, r *http.Request, n int, body []byte) bool {
		if n == 0 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return true
		}
		return false
	})
	c, _ := newTestClient(t, f, agentlog.Config{RequestTimeout: 100 * time.Millisecond})
	logN(c, 1)
	flush(t, c)
	if st := c.Stats(); st.Sent != 2 || st.Retries != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestGivesUpAfterMaxRetries(t *testing.T) {
	f := newFakeServer(t)
	f.setRespond(func(w http.ResponseWriter, r *http.Request, n int, body []byte) bool {
		w.WriteHeader(http.StatusBadGateway)
		return true
	})
	c, errs := newTestClient(t, f, agentlog.Config{MaxRetries: 2})
	logN(c, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Flush(ctx); err == nil {
		t.Fatal("Flush reported success for undelivered items")
	}
	if st := c.Stats(); st.Requests != 3 || st.Retries != 2 || st.Failed != 2 {
		t.Errorf("stats = %+v", st)
	}
	if got := errs.all(); len(got) != 1 || got[0].Status != http.StatusBadGateway || !strings.Contains(got[0].Message, "gave up after 2 retries") {
		t.Errorf("OnError = %+v", got)
	}
}

func TestRejectedItemsAreCountedNotRetried(t *testing.T) {
	f := newFakeServer(t)
	f.setRespond(func(w http.ResponseWriter, r *http.Request, n int, body []byte) bool {
		if n == 0 { // partial: 200 with errors
			_, _ = w.Write([]byte(`{"accepted":2,"rejected":1,"errors":[{"index":0,"item":"event","field":"name","message":"too long"}],"ids":[null,"b"]}`))
			return true
		}
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = w.Write([]byte(`{"type":"urn:agentlog:problem:validation-failed","accepted":0,"rejected":2,"errors":[{"index":0,"item":"event","field":"type","message":"bad"}]}`))
		return true
	})
	c, errs := newTestClient(t, f, agentlog.Config{})
	logN(c, 2) // with the implicit session: 3 items
	ctx := context.Background()
	var ae *agentlog.Error
	if err := c.Flush(ctx); !errors.As(err, &ae) || ae.Count != 1 {
		t.Fatalf("Flush = %v, want 1 item lost", err)
	}
	logN(c, 2)
	if err := c.Flush(ctx); !errors.As(err, &ae) || ae.Count != 2 {
		t.Fatalf("Flush = %v, want 2 items lost", err)
	}
	if st := c.Stats(); st.Sent != 2 || st.Rejected != 3 || st.Requests != 2 || st.Failed != 0 {
		t.Errorf("stats = %+v", st)
	}
	got := errs.all()
	if len(got) != 2 || got[0].Code != agentlog.CodeRejected || got[0].Count != 1 || len(got[0].Details) != 1 ||
		got[0].Details[0].Field != "name" || got[1].Status != http.StatusUnprocessableEntity || got[1].Count != 2 {
		t.Errorf("OnError = %+v", got)
	}
}

func TestTooLargeBatchIsSplit(t *testing.T) {
	f := newFakeServer(t)
	f.setRespond(func(w http.ResponseWriter, r *http.Request, n int, body []byte) bool {
		if len(eventIDs(body)) > 3 {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return true
		}
		return false
	})
	c, _ := newTestClient(t, f, agentlog.Config{})
	ids := logN(c, 10)
	flush(t, c)
	got := f.latest()
	for _, id := range ids {
		if got[id] == nil {
			t.Errorf("event %s lost in the split", id)
		}
	}
	if st := c.Stats(); st.Sent != 11 || st.Failed != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestLargeBodiesAreGzipped(t *testing.T) {
	f := newFakeServer(t)
	c, _ := newTestClient(t, f, agentlog.Config{})
	c.Log(context.Background(), agentlog.Event{Input: "small"})
	flush(t, c)
	big := strings.Repeat("all work and no play ", 2000)
	id := c.Log(context.Background(), agentlog.Event{Input: big})
	flush(t, c)
	reqs := f.snapshot()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	if reqs[0].gzipped {
		t.Error("a small body was compressed")
	}
	if !reqs[1].gzipped || reqs[1].rawBytes > len(big)/4 {
		t.Errorf("large body: gzipped=%v, %d bytes on the wire for %d of input", reqs[1].gzipped, reqs[1].rawBytes, len(big))
	}
	if f.latest()[id]["input"] != big {
		t.Error("the compressed event did not round-trip")
	}
}

func TestQueueOverflowDropsTheOldest(t *testing.T) {
	f := newFakeServer(t)
	release := make(chan struct{})
	f.setRespond(func(w http.ResponseWriter, r *http.Request, n int, body []byte) bool {
		if n == 0 {
			<-release // hold the first batch so the queue fills up behind it
		}
		return false
	})
	c, errs := newTestClient(t, f, agentlog.Config{MaxBatchSize: 1, MaxQueueSize: 10})
	first := c.Log(context.Background(), agentlog.Event{Name: "first"}) // the implicit session goes first
	f.waitFor(t, "the first request", 5*time.Second, func() bool {
		return c.Stats().InFlight == 1
	})
	ids := logN(c, 50)
	st := c.Stats()
	if st.Dropped != 41 || st.Queued != 10 {
		t.Errorf("stats while blocked = %+v, want 41 dropped, 10 queued", st)
	}
	close(release)
	ctx := context.Background()
	var ae *agentlog.Error
	if err := c.Flush(ctx); !errors.As(err, &ae) || ae.Count != 41 {
		t.Fatalf("Flush = %v, want 41 lost", err)
	}
	got := f.latest()
	for i, id := range ids {
		if (got[id] != nil) != (i >= 40) {
			t.Errorf("event %d: delivered=%v; only the 10 newest should survive", i, got[id] != nil)
		}
	}
	if got[first] != nil {
		t.Error("the oldest queued event should have been dropped")
	}
	if n := errs.count(agentlog.CodeQueueOverflow); n != 1 {
		t.Errorf("overflow reported %d times, want once: %v", n, errs.codes())
	}
}

func TestRecordingNeverWaitsForTheNetwork(t *testing.T) {
	f := newFakeServer(t)
	release := make(chan struct{})
	f.setRespond(func(w http.ResponseWriter, r *http.Request, n int, body []byte) bool {
		<-release
		return false
	})
	defer close(release)
	c, _ := newTestClient(t, f, agentlog.Config{MaxBatchSize: 10, MaxQueueSize: 100})
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx, s := c.StartSession(context.Background(), agentlog.Session{})
		for i := 0; i < 5000; i++ {
			_, sp := c.StartSpan(ctx, agentlog.TypeTool, "t")
			sp.End()
			c.Log(ctx, agentlog.Event{})
		}
		s.End(agentlog.StatusSuccess)
	}()
	select {
	case <-done: // all recorded while the server has not answered once
	case <-time.After(20 * time.Second):
		t.Fatal("recording blocked while the server was not answering")
	}
	if st := c.Stats(); st.Dropped == 0 || st.Requests != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestFlushAndCloseHonourTheirContext(t *testing.T) {
	f := newFakeServer(t)
	release := make(chan struct{})
	defer close(release)
	f.setRespond(func(w http.ResponseWriter, r *http.Request, n int, body []byte) bool {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return true
	})
	c, errs := newTestClient(t, f, agentlog.Config{})
	logN(c, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Flush = %v, want DeadlineExceeded", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := c.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close took %v", d)
	}
	if st := c.Stats(); st.Failed != 5 || st.Sent != 0 { // session start, 3 events, session end
		t.Errorf("stats = %+v", st)
	}
	if err := c.Flush(context.Background()); !errors.Is(err, agentlog.ErrClosed) {
		t.Errorf("Flush after Close = %v", err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Errorf("second Close = %v", err)
	}
	c.Log(context.Background(), agentlog.Event{})
	_, sp := c.StartSpan(context.Background(), agentlog.TypeStep, "late")
	sp.End()
	if n := errs.count(agentlog.CodeClosed); n != 1 {
		t.Errorf("recording after Close reported %d times: %v", n, errs.codes())
	}
	if st := c.Stats(); st.Enqueued != 5 {
		t.Errorf("recorded after Close: %+v", st)
	}
}

func TestCloseDeliversEverything(t *testing.T) {
	f := newFakeServer(t)
	c, _ := newTestClient(t, f, agentlog.Config{})
	ctx, s := c.StartSession(context.Background(), agentlog.Session{})
	_, open := c.StartSpan(ctx, agentlog.TypeAgent, "still running")
	ids := make([]string, 0, 100)
	for i := 0; i < 100; i++ {
		_, sp := c.StartSpan(ctx, agentlog.TypeTool, "t")
		sp.End()
		ids = append(ids, sp.ID())
	}
	s.End(agentlog.StatusSuccess)
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := f.latest()
	for _, id := range ids {
		if got[id] == nil {
			t.Fatalf("event %s not delivered by Close", id)
		}
	}
	if e := got[open.ID()]; e == nil || e["status"] != "running" || e["ended_at"] != nil {
		t.Errorf("a span open at Close should be sent as running: %v", e)
	}
}

func TestBatchSizeAndIntervalTriggerSends(t *testing.T) {
	f := newFakeServer(t)
	c, _ := newTestClient(t, f, agentlog.Config{MaxBatchSize: 10})
	logN(c, 9) // + the implicit session = 10 items
	f.waitFor(t, "a full batch to be sent without Flush", 5*time.Second, func() bool { return len(f.snapshot()) == 1 })
	if got := len(f.events()); got != 9 {
		t.Errorf("first batch had %d events", got)
	}

	f2 := newFakeServer(t)
	c2, _ := newTestClient(t, f2, agentlog.Config{FlushInterval: 50 * time.Millisecond})
	logN(c2, 1)
	f2.waitFor(t, "the interval to send", 5*time.Second, func() bool { return len(f2.events()) == 1 })
}

func TestLongSpanIsShownAsRunningThenReplaced(t *testing.T) {
	f := newFakeServer(t)
	c, _ := newTestClient(t, f, agentlog.Config{FlushInterval: 30 * time.Millisecond})
	ctx, s := c.StartSession(context.Background(), agentlog.Session{})
	_, sp := c.StartSpan(ctx, agentlog.TypeAgent, "long", agentlog.WithInput("task"))
	_, quick := c.StartSpan(ctx, agentlog.TypeTool, "quick")
	quick.End()
	f.waitFor(t, "the running snapshot", 5*time.Second, func() bool {
		return f.latest()[sp.ID()] != nil
	})
	sp.SetOutput("done")
	sp.End()
	s.End(agentlog.StatusSuccess)
	flush(t, c)

	var versions []wireEvent
	for _, e := range f.events() {
		if e["id"] == sp.ID() {
			versions = append(versions, e)
		}
		if e["id"] == quick.ID() && e["status"] != "ok" {
			t.Errorf("a span that ended quickly was sent as %v", e["status"])
		}
	}
	if len(versions) != 2 {
		t.Fatalf("%d versions of the long span, want 2 (running, final)", len(versions))
	}
	if v := versions[0]; v["status"] != "running" || v["ended_at"] != nil || v["input"] != "task" || v["output"] != nil {
		t.Errorf("snapshot = %v", v)
	}
	if v := versions[1]; v["status"] != "ok" || v["ended_at"] == nil || v["output"] != "done" || v["started_at"] != versions[0]["started_at"] {
		t.Errorf("final = %v", v)
	}
}

func TestPanickingOnErrorDoesNotStopDelivery(t *testing.T) {
	f := newFakeServer(t)
	var calls atomic.Int32
	f.setRespond(func(w http.ResponseWriter, r *http.Request, n int, body []byte) bool {
		if n == 0 {
			w.WriteHeader(http.StatusBadRequest)
			return true
		}
		return false
	})
	c, _ := newTestClient(t, f, agentlog.Config{OnError: func(error) {
		calls.Add(1)
		panic("boom")
	}})
	logN(c, 1)
	_ = c.Flush(context.Background())
	logN(c, 1)
	flush(t, c)
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 || len(f.events()) != 1 {
		t.Errorf("OnError calls %d, events delivered %d", calls.Load(), len(f.events()))
	}
}

// Flush returns only once everything recorded before it was acknowledged, however
// many items that is, whether they are still queued or already in flight, and while
// the answer is slow.
func TestFlushWaitsForEveryItemToBeAcknowledged(t *testing.T) {
	for _, inFlight := range []bool{false, true} {
		for n := 1; n <= 4; n++ {
			t.Run(fmt.Sprintf("inflight=%v/n=%d", inFlight, n), func(t *testing.T) {
				f := newFakeServer(t)
				f.setRespond(func(w http.ResponseWriter, r *http.Request, _ int, body []byte) bool {
					time.Sleep(50 * time.Millisecond) // a slow answer
					return false
				})
				batch := 1000
				if inFlight {
					batch = n // a full batch goes out at once
				}
				c, _ := newTestClient(t, f, agentlog.Config{MaxBatchSize: batch})
				_, s := c.StartSession(context.Background(), agentlog.Session{ID: "s"})
				for i := 1; i < n; i++ {
					c.Log(context.Background(), agentlog.Event{SessionID: s.ID()})
				}
				if inFlight {
					f.waitFor(t, "the batch to be in flight", 5*time.Second, func() bool { return c.Stats().InFlight == n })
				}
				flush(t, c)
				st := c.Stats()
				if st.Enqueued != uint64(n) || st.Sent != uint64(n) || st.InFlight != 0 || st.Queued != 0 {
					t.Errorf("after Flush: %+v", st)
				}
				if got := len(f.events()) + len(f.sessions()); got != n {
					t.Errorf("server has %d items, want %d", got, n)
				}
			})
		}
	}
}
