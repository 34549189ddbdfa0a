package agentlog

// Delivery: a bounded in-memory queue of encoded items (events and session updates) and
// one background goroutine that posts them in batches to POST /v1/ingest.
//
//   - Recording appends to the queue under a mutex held for a few instructions; it never
//     waits for the network. When the queue is full the oldest items are dropped and
//     counted (Stats.Dropped); the first drop is reported through OnError.
//   - A batch goes out when MaxBatchSize items are queued, every FlushInterval, and on
//     Flush/Close. One request at a time, in queue order, so a span's "running"
//     snapshot always lands before its final version.
//   - Network errors, timeouts, 408, 429 and 5xx are retried with exponential backoff
//     and jitter, honouring Retry-After; 413 splits the batch; other 4xx are not
//     retried. Items keep their client-made ids, so a retry after a lost answer
//     replaces instead of duplicating.
//   - Bodies of gzipThreshold bytes or more are gzip-compressed.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"math/rand"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	gzipThreshold = 16 << 10
	maxBatchBytes = 4 << 20
	// A Retry-After longer than this is cut to it, so a misconfigured proxy cannot
	// stall delivery for hours.
	maxRetryAfter = time.Minute
	// How much of an answer is read; ingest answers are small.
	maxAnswerBytes = 1 << 20
)

type itemKind uint8

const (
	kindEvent itemKind = iota
	kindSession
)

type item struct {
	seq  uint64
	kind itemKind
	data []byte
}

type transportConfig struct {
	ingestURL      string
	apiKey         string
	httpClient     *http.Client
	flushInterval  time.Duration
	maxBatchSize   int
	maxQueueSize   int
	maxQueueBytes  int
	maxRetries     int
	minRetryDelay  time.Duration
	maxRetryDelay  time.Duration
	requestTimeout time.Duration
}

type waiter struct {
	target uint64
	ch     chan struct{}
	closed bool // the client stopped before everything up to target was handled
}

// lostRange counts n items with seqs in [first, last] that were dropped, refused or
// given up, not yet reported by a Flush.
type lostRange struct {
	first, last uint64
	n           int
}

// maxLostRanges bounds the bookkeeping of lost items; past it the oldest ranges are
// merged (counts stay exact, boundaries get coarser).
const maxLostRanges = 1024

type counters struct {
	enqueued, sent, rejected, dropped, failed, retries, requests atomic.Uint64
}

type transport struct {
	cfg    transportConfig
	rep    *reporter
	onTick func()

	mu          sync.Mutex
	ring        []item // circular; head is the oldest
	head, n     int
	bytes       int
	lastSeq     uint64 // seq of the newest item ever queued
	flushTarget uint64 // the sender keeps going until every item up to here is handled
	inflightSeq uint64 // first seq of the batch being sent, 0 when none
	inflightN   int
	waiters     []*waiter
	lost        []lostRange
	closed      bool // no new items
	stopped     bool // the sender is gone
	overflowed  bool // the first drop was reported

	wake   chan struct{}
	ctx    context.Context // cancelled to abort requests and backoff sleeps
	cancel context.CancelFunc
	done   chan struct{}

	zw    *gzip.Writer // sender goroutine only
	stats counters
}

func newTransport(cfg transportConfig, rep *reporter, onTick func()) *transport {
	ctx, cancel := context.WithCancel(context.Background())
	t := &transport{
		cfg:    cfg,
		rep:    rep,
		onTick: onTick,
		ring:   make([]item, min(256, cfg.maxQueueSize)),
		wake:   make(chan struct{}, 1),
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go t.run()
	return t
}

// enqueue queues one encoded item. It returns false once the client is closed.
func (t *transport) enqueue(kind itemKind, data []byte) bool {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return false
	}
	if t.n == len(t.ring) {
		t.grow()
	}
	t.lastSeq++
	t.ring[(t.head+t.n)%len(t.ring)] = item{seq: t.lastSeq, kind: kind, data: data}
	t.n++
	t.bytes += len(data)
	dropped := 0
	for t.n > t.cfg.maxQueueSize || (t.bytes > t.cfg.maxQueueBytes && t.n > 1) {
		it := t.popLocked()
		t.addLostLocked(it.seq, it.seq, 1)
		dropped++
	}
	full := t.n >= t.cfg.maxBatchSize
	report := false
	// Counted under the lock, so Stats never shows an item sent before it was enqueued.
	t.stats.enqueued.Add(1)
	if dropped > 0 {
		t.stats.dropped.Add(uint64(dropped))
		report = !t.overflowed
		t.overflowed = true
		t.settleLocked()
	}
	t.mu.Unlock()
	if report {
		t.rep.report(&Error{Code: CodeQueueOverflow, Count: dropped, Message: "queue full (MaxQueueSize " +
			strconv.Itoa(t.cfg.maxQueueSize) + ", MaxQueueBytes " + strconv.Itoa(t.cfg.maxQueueBytes) +
			"): dropping the oldest items; Stats().Dropped counts them (reported once)"})
	}
	if full {
		t.signal()
	}
	return true
}

func (t *transport) grow() {
	size := min(2*len(t.ring), t.cfg.maxQueueSize+1)
	if size <= len(t.ring) {
		size = len(t.ring) + 1
	}
	next := make([]item, size)
	for i := 0; i < t.n; i++ {
		next[i] = t.ring[(t.head+i)%len(t.ring)]
	}
	t.ring = next
	t.head = 0
}

func (t *transport) popLocked() item {
	it := t.ring[t.head]
	t.ring[t.head] = item{}
	t.head = (t.head + 1) % len(t.ring)
	t.n--
	t.bytes -= len(it.data)
	return it
}

func (t *transport) signal() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// handledLocked reports whether every item up to target was delivered or given up.
func (t *transport) handledLocked(target uint64) bool {
	if t.inflightSeq != 0 && t.inflightSeq <= target {
		return false
	}
	return t.n == 0 || t.ring[t.head].seq > target
}

func (t *transport) addLostLocked(first, last uint64, n int) {
	if k := len(t.lost); k > 0 && t.lost[k-1].last+1 == first {
		t.lost[k-1].last = last
		t.lost[k-1].n += n
		return
	}
	t.lost = append(t.lost, lostRange{first, last, n})
	if len(t.lost) > maxLostRanges {
		a, b := t.lost[0], t.lost[1]
		t.lost[1] = lostRange{min(a.first, b.first), max(a.last, b.last), a.n + b.n}
		t.lost = t.lost[1:]
	}
}

// takeLostLocked removes and counts the lost items with seqs up to target.
func (t *transport) takeLostLocked(target uint64) int {
	total := 0
	kept := t.lost[:0]
	for _, r := range t.lost {
		switch {
		case r.first > target:
			kept = append(kept, r)
		case r.last <= target:
			total += r.n
		default:
			taken := min(r.n, int(target-r.first+1))
			total += taken
			kept = append(kept, lostRange{target + 1, r.last, r.n - taken})
		}
	}
	t.lost = kept
	return total
}

func (t *transport) settleLocked() {
	kept := t.waiters[:0]
	for _, w := range t.waiters {
		if t.handledLocked(w.target) {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	for i := len(kept); i < len(t.waiters); i++ {
		t.waiters[i] = nil
	}
	t.waiters = kept
}

// flush waits until everything queued before the call was handled.
func (t *transport) flush(ctx context.Context) error {
	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		return ErrClosed
	}
	target := t.lastSeq
	t.mu.Unlock()
	return t.waitFor(ctx, target)
}

func (t *transport) waitFor(ctx context.Context, target uint64) error {
	t.mu.Lock()
	if t.handledLocked(target) {
		t.mu.Unlock()
		return t.lostError(target)
	}
	if t.flushTarget < target {
		t.flushTarget = target
	}
	w := &waiter{target: target, ch: make(chan struct{})}
	t.waiters = append(t.waiters, w)
	t.mu.Unlock()
	t.signal()
	select {
	case <-w.ch:
		if w.closed {
			return ErrClosed
		}
		return t.lostError(target)
	case <-ctx.Done():
		t.mu.Lock()
		for i, x := range t.waiters {
			if x == w {
				t.waiters = append(t.waiters[:i], t.waiters[i+1:]...)
				break
			}
		}
		t.mu.Unlock()
		return ctx.Err()
	}
}

// lostError reports the items up to target that were not stored (once).
func (t *transport) lostError(target uint64) error {
	t.mu.Lock()
	lost := t.takeLostLocked(target)
	t.mu.Unlock()
	if lost == 0 {
		return nil
	}
	return &Error{Code: CodeDeliveryFailed, Count: lost,
		Message: strconv.Itoa(lost) + " item(s) recorded before Flush were not stored (OnError said why)"}
}

// close stops accepting items, delivers what is queued until ctx is done, then stops
// the sender; what is left counts as failed.
func (t *transport) close(ctx context.Context) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		<-t.done
		return nil
	}
	t.closed = true
	target := t.lastSeq
	t.mu.Unlock()
	err := t.waitFor(ctx, target)
	t.cancel()
	<-t.done
	t.mu.Lock()
	lost := t.n
	for t.n > 0 {
		it := t.popLocked()
		t.addLostLocked(it.seq, it.seq, 1)
	}
	t.stopped = true
	for _, w := range t.waiters {
		w.closed = true
		close(w.ch)
	}
	t.waiters = nil
	t.mu.Unlock()
	if lost > 0 {
		t.stats.failed.Add(uint64(lost))
		t.rep.report(&Error{Code: CodeDeliveryFailed, Count: lost,
			Message: strconv.Itoa(lost) + " queued item(s) were not delivered before Close gave up"})
	}
	return err
}

func (t *transport) run() {
	defer close(t.done)
	ticker := time.NewTicker(t.cfg.flushInterval)
	defer ticker.Stop()
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-ticker.C:
			t.tick()
		case <-t.wake:
		}
		t.pump()
	}
}

func (t *transport) tick() {
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.rep.report(&Error{Code: CodeDeliveryFailed, Message: "internal error in the flush tick (please report it)"})
			}
		}()
		t.onTick()
	}()
	t.mu.Lock()
	t.flushTarget = t.lastSeq
	t.mu.Unlock()
}

// pump sends batches while there is something due.
func (t *transport) pump() {
	var batch []item
	for t.ctx.Err() == nil {
		t.mu.Lock()
		if t.n == 0 || (t.ring[t.head].seq > t.flushTarget && t.n < t.cfg.maxBatchSize) {
			t.mu.Unlock()
			return
		}
		batch = batch[:0]
		size := 0
		for t.n > 0 && len(batch) < t.cfg.maxBatchSize {
			next := len(t.ring[t.head].data)
			if len(batch) > 0 && size+next > maxBatchBytes {
				break
			}
			size += next
			batch = append(batch, t.popLocked())
		}
		t.inflightSeq = batch[0].seq
		t.inflightN = len(batch)
		t.mu.Unlock()

		t.send(batch)

		t.mu.Lock()
		t.inflightSeq = 0
		t.inflightN = 0
		t.settleLocked()
		t.mu.Unlock()
		for i := range batch {
			batch[i] = item{}
		}
	}
}

type outcomeKind int

const (
	outcomeOK outcomeKind = iota
	outcomeRetry
	outcomeTooLarge
	outcomeFatal
	outcomeAborted
)

type outcome struct {
	kind       outcomeKind
	status     int
	answer     []byte
	err        error
	retryAfter time.Duration
	hasRA      bool
}

// send delivers one batch: stored, refused, or given up. Nothing escapes it.
func (t *transport) send(batch []item) {
	body, gzipped := t.body(batch)
	for attempt := 0; ; attempt++ {
		out := t.post(body, gzipped)
		switch out.kind {
		case outcomeOK:
			t.accept(batch, out.answer)
			return
		case outcomeAborted:
			t.fail(batch, "the client was closed before the batch was delivered", 0, nil)
			return
		case outcomeTooLarge:
			if len(batch) > 1 {
				half := len(batch) / 2
				t.send(batch[:half])
				t.send(batch[half:])
			} else {
				t.fail(batch, "the server refused an item as too large (413)", out.status, nil)
			}
			return
		case outcomeFatal:
			if out.status == http.StatusUnprocessableEntity {
				t.refuseAll(batch, out.answer)
			} else {
				t.fail(batch, describeStatus(out.status, out.answer), out.status, nil)
			}
			return
		case outcomeRetry:
			if attempt >= t.cfg.maxRetries {
				why := "gave up after " + strconv.Itoa(attempt) + " retries"
				if out.status != 0 {
					why += " (last answer: HTTP " + strconv.Itoa(out.status) + ")"
				}
				t.fail(batch, why, out.status, out.err)
				return
			}
			t.stats.retries.Add(1)
			if !t.sleep(t.backoff(attempt, out)) {
				t.fail(batch, "the client was closed before the batch was delivered", 0, nil)
				return
			}
		}
	}
}

// body builds the ingest request body of batch, gzip-compressed when large. A fresh
// buffer each time: net/http may still read the previous body after Do returns.
func (t *transport) body(batch []item) ([]byte, bool) {
	size := len(`{"events":[],"sessions":[]}`)
	for _, it := range batch {
		size += len(it.data) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, `{"events":[`...)
	b = appendItems(b, batch, kindEvent)
	b = append(b, `],"sessions":[`...)
	b = appendItems(b, batch, kindSession)
	b = append(b, `]}`...)
	if len(b) < gzipThreshold {
		return b, false
	}
	var z bytes.Buffer
	z.Grow(len(b) / 4)
	if t.zw == nil {
		t.zw, _ = gzip.NewWriterLevel(&z, gzip.BestSpeed)
	} else {
		t.zw.Reset(&z)
	}
	if _, err := t.zw.Write(b); err != nil {
		return b, false
	}
	if err := t.zw.Close(); err != nil {
		return b, false
	}
	return z.Bytes(), true
}

func appendItems(b []byte, batch []item, kind itemKind) []byte {
	first := true
	for _, it := range batch {
		if it.kind != kind {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, it.data...)
	}
	return b
}

func (t *transport) post(body []byte, gzipped bool) outcome {
	if t.ctx.Err() != nil {
		return outcome{kind: outcomeAborted}
	}
	ctx, cancel := context.WithTimeout(t.ctx, t.cfg.requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.cfg.ingestURL, bytes.NewReader(body))
	if err != nil {
		return outcome{kind: outcomeFatal, err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if gzipped {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if t.cfg.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+t.cfg.apiKey)
	}
	t.stats.requests.Add(1)
	resp, err := t.cfg.httpClient.Do(req)
	if err != nil {
		if t.ctx.Err() != nil {
			return outcome{kind: outcomeAborted}
		}
		return outcome{kind: outcomeRetry, err: err}
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswerBytes)) // let the connection be reused
	resp.Body.Close()
	status := resp.StatusCode
	switch {
	case status >= 200 && status < 300:
		// An answer cut off after the status line: the batch was stored, only the
		// counts are lost.
		return outcome{kind: outcomeOK, status: status, answer: answer}
	case status == http.StatusRequestEntityTooLarge:
		return outcome{kind: outcomeTooLarge, status: status}
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
		ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		return outcome{kind: outcomeRetry, status: status, retryAfter: ra, hasRA: ok, err: err}
	default:
		return outcome{kind: outcomeFatal, status: status, answer: answer}
	}
}

// backoff is the wait before retry number attempt+1: the server's Retry-After (plus a
// little jitter so clients do not return all at once), else exponential with "equal
// jitter" between MinRetryDelay and MaxRetryDelay.
func (t *transport) backoff(attempt int, out outcome) time.Duration {
	if out.hasRA {
		d := min(out.retryAfter, maxRetryAfter)
		spread := min(time.Second, d/5+50*time.Millisecond)
		return d + time.Duration(rand.Int63n(int64(spread)+1))
	}
	exp := t.cfg.maxRetryDelay
	if attempt < 30 {
		exp = min(t.cfg.maxRetryDelay, t.cfg.minRetryDelay<<attempt)
	}
	half := exp / 2
	return half + time.Duration(rand.Int63n(int64(exp-half)+1))
}

// sleep waits d; false when the client is being closed.
func (t *transport) sleep(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-t.ctx.Done():
		return false
	}
}

type ingestAnswer struct {
	Accepted *int        `json:"accepted"`
	Rejected *int        `json:"rejected"`
	Errors   []ItemError `json:"errors"`
}

// markLost records that n items of batch were not stored, for Flush.
func (t *transport) markLost(batch []item, n int) {
	t.mu.Lock()
	t.addLostLocked(batch[0].seq, batch[len(batch)-1].seq, n)
	t.mu.Unlock()
}

func (t *transport) accept(batch []item, answer []byte) {
	var a ingestAnswer
	_ = json.Unmarshal(answer, &a)
	rejected := 0
	if a.Rejected != nil {
		rejected = min(max(*a.Rejected, 0), len(batch))
	}
	t.stats.sent.Add(uint64(len(batch) - rejected))
	if rejected > 0 {
		t.markLost(batch, rejected)
		t.stats.rejected.Add(uint64(rejected))
		t.rep.report(&Error{Code: CodeRejected, Status: http.StatusOK, Count: rejected, Details: a.Errors,
			Message: "the server refused " + strconv.Itoa(rejected) + " of " + strconv.Itoa(len(batch)) +
				" item(s): " + describeItemErrors(a.Errors)})
	}
}

func (t *transport) refuseAll(batch []item, answer []byte) {
	var a ingestAnswer
	_ = json.Unmarshal(answer, &a)
	t.markLost(batch, len(batch))
	t.stats.rejected.Add(uint64(len(batch)))
	t.rep.report(&Error{Code: CodeRejected, Status: http.StatusUnprocessableEntity, Count: len(batch), Details: a.Errors,
		Message: "the server refused all " + strconv.Itoa(len(batch)) + " item(s): " + describeItemErrors(a.Errors)})
}

func (t *transport) fail(batch []item, why string, status int, err error) {
	t.markLost(batch, len(batch))
	t.stats.failed.Add(uint64(len(batch)))
	t.rep.report(&Error{Code: CodeDeliveryFailed, Status: status, Count: len(batch), Err: err,
		Message: strconv.Itoa(len(batch)) + " item(s) not delivered: " + why})
}

func describeStatus(status int, answer []byte) string {
	var problem struct {
		Detail string `json:"detail"`
	}
	detail := ""
	if json.Unmarshal(answer, &problem) == nil && problem.Detail != "" {
		detail = problem.Detail
	} else {
		detail = strings.TrimSpace(string(answer))
		if len(detail) > 200 {
			detail = detail[:200] + "..."
		}
	}
	msg := "the server answered HTTP " + strconv.Itoa(status)
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		msg += " (check Config.APIKey / AGENTLOG_API_KEY)"
	}
	if detail != "" {
		msg += ": " + detail
	}
	return msg
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs != secs || secs < 0 || secs > maxRetryAfter.Seconds() {
			if secs > 0 {
				return maxRetryAfter, true
			}
			return 0, false
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

func (t *transport) snapshot() Stats {
	t.mu.Lock()
	queued, inFlight := t.n, t.inflightN
	t.mu.Unlock()
	return Stats{
		Enqueued: t.stats.enqueued.Load(),
		Sent:     t.stats.sent.Load(),
		Rejected: t.stats.rejected.Load(),
		Dropped:  t.stats.dropped.Load(),
		Failed:   t.stats.failed.Load(),
		Retries:  t.stats.retries.Load(),
		Requests: t.stats.requests.Load(),
		Queued:   queued,
		InFlight: inFlight,
	}
}
