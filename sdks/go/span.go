package agentlog

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Span is an operation with a start and an end: an agent step, an LLM call, a tool
// call. It is recorded as one event when it ends. Spans started with a context that
// carries a span become its children. The methods are safe for concurrent use, do
// nothing after End, and do nothing on a nil *Span.
//
// A span still running after FlushInterval is also sent as a "running" event, so it
// shows while it lasts; End replaces it.
type Span struct {
	c       *Client
	session *ActiveSession
	id      eventID
	parent  eventID
	typ     EventType
	agent   string
	started int64 // microseconds since the epoch

	// Links of the open-span registry, guarded by the shard's mutex.
	prev, next  *Span
	snapshotted atomic.Bool

	mu       sync.Mutex
	ended    bool
	name     string
	status   EventStatus
	input    []byte
	output   []byte
	err      *ErrorInfo
	model    string
	provider string
	usage    Usage
	cost     float64
	attrs    []attr
	tags     []string
}

// SpanOption sets something about a span when it starts.
type SpanOption struct{ apply func(*Span) }

// WithAgent sets the span's agent (default: the parent span's, else the session's).
// Child spans inherit it.
func WithAgent(agent string) SpanOption {
	return SpanOption{func(sp *Span) { sp.agent = agent }}
}

// WithInput sets the span's input, like [Span.SetInput].
func WithInput(v any) SpanOption {
	return SpanOption{func(sp *Span) { sp.input = encodePayload(v, "input", sp.c.rep.warn) }}
}

// WithStartTime sets when the span started (default: now).
func WithStartTime(t time.Time) SpanOption {
	return SpanOption{func(sp *Span) {
		if !t.IsZero() {
			sp.started = timeMicros(t)
		}
	}}
}

// WithID sets the span's event id (1..128 bytes; default: a UUIDv7). Re-using an id
// replaces the earlier event.
func WithID(id string) SpanOption {
	return SpanOption{func(sp *Span) {
		if id != "" {
			sp.id = stringID(id)
		}
	}}
}

// StartSpan starts a span of type typ and returns a context that carries it. The
// span's parent is the span of ctx, if any; its session is the session of ctx, else
// the client's implicit session. End it with [Span.End], usually deferred:
//
//	ctx, sp := client.StartSpan(ctx, agentlog.TypeTool, "search")
//	defer sp.End()
func (c *Client) StartSpan(ctx context.Context, typ EventType, name string, opts ...SpanOption) (context.Context, *Span) {
	if ctx == nil {
		ctx = context.Background()
	}
	if c == nil || c.disabled {
		return ctx, nil
	}
	parent, session := scopeOf(ctx)
	if session == nil {
		session = c.implicitSession()
	}
	now := c.clock.nowMicros()
	sp := &Span{c: c, session: session, typ: typ, name: name, started: now}
	sp.id = uuidID(c.ids.next(now / 1000))
	switch {
	case parent != nil:
		sp.parent = parent.id
		sp.agent = parent.agent
	case session.agent != "":
		sp.agent = session.agent
	default:
		sp.agent = c.cfg.Agent
	}
	for _, o := range opts {
		if o.apply != nil {
			o.apply(sp)
		}
	}
	c.spans.add(sp)
	return context.WithValue(ctx, ctxKey{}, sp), sp
}

// Do runs fn in a new span (see [Client.StartSpan]) and ends the span when fn returns.
// An error fn returns is recorded with [Span.RecordError] and returned unchanged; a
// panic is recorded (type "panic", its value, the stack), the span ended, and the
// panic continues with the same value.
//
//	err := client.Do(ctx, agentlog.TypeTool, "search", func(ctx context.Context, sp *agentlog.Span) error {
//		hits, err := search(ctx, query)
//		sp.SetOutput(hits)
//		return err
//	})
func (c *Client) Do(ctx context.Context, typ EventType, name string, fn func(context.Context, *Span) error, opts ...SpanOption) (err error) {
	ctx, sp := c.StartSpan(ctx, typ, name, opts...)
	defer func() {
		if r := recover(); r != nil {
			sp.recordPanic(r)
			sp.End()
			panic(r)
		}
		if err != nil {
			sp.RecordError(err)
		}
		sp.End()
	}()
	return fn(ctx, sp)
}

func (sp *Span) recordPanic(r any) {
	if sp == nil {
		return
	}
	info := &ErrorInfo{Type: "panic", Message: fmt.Sprint(r), Stack: string(debug.Stack())}
	if err, ok := r.(error); ok {
		info.Type = "panic: " + errorTypeName(err)
		info.Message = errorText(err)
	}
	sp.mu.Lock()
	if !sp.ended {
		sp.err = info
	}
	sp.mu.Unlock()
}

// ID returns the span's event id.
func (sp *Span) ID() string {
	if sp == nil {
		return ""
	}
	return sp.id.String()
}

// SessionID returns the id of the span's session.
func (sp *Span) SessionID() string {
	if sp == nil {
		return ""
	}
	return sp.session.id
}

// SetName changes the span's name.
func (sp *Span) SetName(name string) {
	if sp == nil {
		return
	}
	sp.mu.Lock()
	if !sp.ended {
		sp.name = name
	}
	sp.mu.Unlock()
}

// SetInput records what the span worked on: any value encoding/json can marshal (a
// string is sent as a JSON string, a json.RawMessage as is). It is marshaled now, so
// the caller may change v afterwards.
func (sp *Span) SetInput(v any) {
	if sp == nil {
		return
	}
	data := encodePayload(v, "input", sp.c.rep.warn)
	sp.mu.Lock()
	if !sp.ended {
		sp.input = data
	}
	sp.mu.Unlock()
}

// SetOutput records what the span produced; see [Span.SetInput].
func (sp *Span) SetOutput(v any) {
	if sp == nil {
		return
	}
	data := encodePayload(v, "output", sp.c.rep.warn)
	sp.mu.Lock()
	if !sp.ended {
		sp.output = data
	}
	sp.mu.Unlock()
}

// SetUsage records the token counts of an LLM call.
func (sp *Span) SetUsage(u Usage) {
	if sp == nil {
		return
	}
	sp.mu.Lock()
	if !sp.ended {
		sp.usage = u
	}
	sp.mu.Unlock()
}

// SetModel records the model and provider of an LLM call ("" leaves a value unchanged).
func (sp *Span) SetModel(model, provider string) {
	if sp == nil {
		return
	}
	sp.mu.Lock()
	if !sp.ended {
		if model != "" {
			sp.model = model
		}
		if provider != "" {
			sp.provider = provider
		}
	}
	sp.mu.Unlock()
}

// SetCost records the cost in US dollars.
func (sp *Span) SetCost(usd float64) {
	if sp == nil {
		return
	}
	sp.mu.Lock()
	if !sp.ended {
		sp.cost = usd
	}
	sp.mu.Unlock()
}

// SetAttribute sets one attribute (any JSON-marshalable value, marshaled now). Setting
// a key again replaces its value.
func (sp *Span) SetAttribute(key string, value any) {
	if sp == nil {
		return
	}
	data := attrJSON(value, sp.c.rep.warn)
	sp.mu.Lock()
	if !sp.ended {
		i := 0
		for i < len(sp.attrs) && sp.attrs[i].key != key {
			i++
		}
		if i < len(sp.attrs) {
			sp.attrs[i].json = data
		} else {
			sp.attrs = append(sp.attrs, attr{key: key, json: data})
		}
	}
	sp.mu.Unlock()
}

// SetTags replaces the span's tags.
func (sp *Span) SetTags(tags ...string) {
	if sp == nil {
		return
	}
	tags = append([]string(nil), tags...)
	sp.mu.Lock()
	if !sp.ended {
		sp.tags = tags
	}
	sp.mu.Unlock()
}

// SetStatus sets the status End records (default: StatusOK, or StatusError after
// RecordError).
func (sp *Span) SetStatus(status EventStatus) {
	if sp == nil {
		return
	}
	sp.mu.Lock()
	if !sp.ended {
		sp.status = status
	}
	sp.mu.Unlock()
}

// RecordError records err as the span's error (its Go type, message, and the stack of
// the caller) and marks the span as failed. A nil err does nothing. Pass an
// [*ErrorInfo] to choose what is recorded.
func (sp *Span) RecordError(err error) {
	if sp == nil || err == nil {
		return
	}
	info := errorInfoOf(err, callerStack(2))
	sp.mu.Lock()
	if !sp.ended {
		sp.err = info
	}
	sp.mu.Unlock()
}

// End ends the span and queues it for delivery. Only the first call counts; it never
// blocks on the network.
func (sp *Span) End() {
	if sp == nil {
		return
	}
	sp.mu.Lock()
	if sp.ended {
		sp.mu.Unlock()
		return
	}
	sp.ended = true
	w := sp.wireLocked()
	w.ended, w.hasEnded = max(sp.c.clock.nowMicros(), sp.started), true
	if w.status == "" || w.status == StatusRunning || !validEventStatus(w.status) {
		if w.status != "" && w.status != StatusRunning {
			sp.c.rep.warn("status", "unknown event status "+strconv.Quote(string(w.status))+"; sent as ok or error")
		}
		w.status = StatusOK
		if sp.err != nil {
			w.status = StatusError
		}
	}
	sp.c.enqueue(kindEvent, sp.c.encodeEvent(&w))
	sp.mu.Unlock()
	sp.c.spans.remove(sp)
}

// snapshot queues the span as "running" (once), so it shows before it ends.
func (sp *Span) snapshot() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.ended || sp.snapshotted.Load() {
		return
	}
	sp.snapshotted.Store(true)
	w := sp.wireLocked()
	w.status = StatusRunning
	w.output = nil
	sp.c.enqueue(kindEvent, sp.c.encodeEvent(&w))
}

func (sp *Span) wireLocked() wireEvent {
	return wireEvent{
		id:        sp.id,
		sessionID: sp.session.id,
		parentID:  sp.parent,
		typ:       sp.typ,
		name:      sp.name,
		agent:     sp.agent,
		started:   sp.started,
		status:    sp.status,
		input:     sp.input,
		output:    sp.output,
		err:       sp.err,
		model:     sp.model,
		provider:  sp.provider,
		usage:     sp.usage,
		cost:      sp.cost,
		attrs:     sp.attrs,
		tags:      sp.tags,
	}
}

// callerStack formats the stack above RecordError's caller, like a panic trace.
func callerStack(skip int) string {
	var pcs [32]uintptr
	n := runtime.Callers(skip+1, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	var b strings.Builder
	for {
		f, more := frames.Next()
		if f.Function != "" {
			b.WriteString(f.Function)
			b.WriteString("\n\t")
			b.WriteString(f.File)
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(f.Line))
			b.WriteByte('\n')
		}
		if !more {
			break
		}
	}
	return b.String()
}

// ---------------------------------------------------------------- open spans

const spanShards = 32

type spanShard struct {
	mu   sync.Mutex
	head *Span
	_    [48]byte // keep shards on separate cache lines
}

// openSpans is the set of spans that have not ended, sharded so that spans started
// from many goroutines rarely contend; the flush tick walks it to snapshot long ones.
type openSpans struct {
	shards [spanShards]spanShard
}

func (o *openSpans) shard(sp *Span) *spanShard {
	h := sp.id.uuid[15]
	if !sp.id.isUUID && sp.id.str != "" {
		h = sp.id.str[len(sp.id.str)-1] ^ byte(len(sp.id.str))
	}
	return &o.shards[h%spanShards]
}

func (o *openSpans) add(sp *Span) {
	sh := o.shard(sp)
	sh.mu.Lock()
	sp.next = sh.head
	if sh.head != nil {
		sh.head.prev = sp
	}
	sh.head = sp
	sh.mu.Unlock()
}

func (o *openSpans) remove(sp *Span) {
	sh := o.shard(sp)
	sh.mu.Lock()
	if sp.prev != nil {
		sp.prev.next = sp.next
	} else if sh.head == sp {
		sh.head = sp.next
	}
	if sp.next != nil {
		sp.next.prev = sp.prev
	}
	sp.prev, sp.next = nil, nil
	sh.mu.Unlock()
}

// each calls fn, outside the shard locks, for every open span for which keep (called
// under the lock; it must only read immutable fields or atomics) returns true.
func (o *openSpans) each(keep func(*Span) bool, fn func(*Span)) {
	var found []*Span
	for i := range o.shards {
		sh := &o.shards[i]
		sh.mu.Lock()
		for sp := sh.head; sp != nil; sp = sp.next {
			if keep(sp) {
				found = append(found, sp)
			}
		}
		sh.mu.Unlock()
	}
	for _, sp := range found {
		fn(sp)
	}
}
