package agentlog

import (
	"context"
	"errors"
	"log"
	"strconv"
	"strings"
	"sync"
)

// ErrClosed is returned by [Client.Flush] after [Client.Close].
var ErrClosed = errors.New("agentlog: client closed")

// ErrorCode says what kind of problem an [*Error] reports.
type ErrorCode string

// Error codes, stable for programs to switch on.
const (
	// CodeQueueOverflow: the queue was full and the oldest items were dropped
	// (reported once per client; Stats.Dropped counts them all).
	CodeQueueOverflow ErrorCode = "queue_overflow"
	// CodeDeliveryFailed: a batch could not be delivered: retries exhausted, an
	// answer that must not be retried (4xx other than 408, 413, 429), or Close.
	CodeDeliveryFailed ErrorCode = "delivery_failed"
	// CodeRejected: the server refused some items as invalid (Details says which).
	CodeRejected ErrorCode = "rejected"
	// CodeInvalidValue: a value was changed to be storable (truncated, replaced) or
	// ignored. Reported once per kind of problem.
	CodeInvalidValue ErrorCode = "invalid_value"
	// CodeClosed: something was recorded after Close; it was ignored.
	CodeClosed ErrorCode = "closed"
)

// Error is what the client passes to Config.OnError. It is never returned from the
// recording methods, which do not fail.
type Error struct {
	Code ErrorCode
	// Message says what happened, for people.
	Message string
	// Status is the HTTP status of the server's answer, when there was one.
	Status int
	// Count is how many items (events and session updates) this is about.
	Count int
	// Details are the server's per-item errors (CodeRejected).
	Details []ItemError
	// Err is the underlying error, if any (a network error, for example).
	Err error
}

// ItemError is one entry of the server's per-item errors (docs/api.md).
type ItemError struct {
	Index   int    `json:"index"`
	Item    string `json:"item"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("agentlog: ")
	b.WriteString(string(e.Code))
	b.WriteString(": ")
	b.WriteString(e.Message)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func defaultOnError(err error) { log.Print(err) }

// reporter calls OnError from its own goroutine, so that a slow or blocking OnError
// never delays the agent, and reports each warning key once.
type reporter struct {
	onError func(error)
	ch      chan report
	quit    chan struct{}
	done    chan struct{}

	mu   sync.Mutex
	seen map[string]bool
}

func newReporter(onError func(error)) *reporter {
	r := &reporter{
		onError: onError,
		ch:      make(chan report, 256),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		seen:    make(map[string]bool),
	}
	go r.run()
	return r
}

// report is an error for OnError, or (err nil) a marker whose done is closed when
// every report before it was handled.
type report struct {
	err  error
	done chan struct{}
}

func (r *reporter) run() {
	defer close(r.done)
	handle := func(rp report) {
		if rp.err != nil {
			r.call(rp.err)
		}
		if rp.done != nil {
			close(rp.done)
		}
	}
	for {
		select {
		case rp := <-r.ch:
			handle(rp)
		case <-r.quit:
			for {
				select {
				case rp := <-r.ch:
					handle(rp)
				default:
					return
				}
			}
		}
	}
}

// sync waits until OnError has been called for everything reported before.
func (r *reporter) sync(ctx context.Context) {
	done := make(chan struct{})
	select {
	case r.ch <- report{done: done}:
	case <-r.done:
		return
	case <-ctx.Done():
		return
	}
	select {
	case <-done:
	case <-r.done:
	case <-ctx.Done():
	}
}

func (r *reporter) call(err error) {
	defer func() { _ = recover() }() // OnError is the caller's; a panicking one must not stop delivery
	r.onError(err)
}

// report queues err for OnError; when the queue of reports is full the report is lost
// (the counters in Stats still have it).
func (r *reporter) report(err *Error) {
	select {
	case <-r.done:
		r.call(err) // after Close: nobody else will
		return
	default:
	}
	select {
	case r.ch <- report{err: err}:
	default:
	}
}

// once reports err the first time key is seen.
func (r *reporter) once(key string, err *Error) {
	r.mu.Lock()
	if r.seen[key] {
		r.mu.Unlock()
		return
	}
	r.seen[key] = true
	r.mu.Unlock()
	r.report(err)
}

// warn is the encoder's warnFunc.
func (r *reporter) warn(key, message string) {
	r.once(key, &Error{Code: CodeInvalidValue, Message: message})
}

// stop delivers what is queued and ends the goroutine.
func (r *reporter) stop() {
	close(r.quit)
	<-r.done
}

func describeItemErrors(errs []ItemError) string {
	if len(errs) == 0 {
		return "no details"
	}
	var b strings.Builder
	for i, e := range errs {
		if i == 3 {
			b.WriteString("; and " + strconv.Itoa(len(errs)-3) + " more")
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		item := e.Item
		if item == "" {
			item = "item"
		}
		b.WriteString(item + " #" + strconv.Itoa(e.Index) + " " + e.Field + ": " + e.Message)
	}
	return b.String()
}
