package agentlog

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Version is the version of this SDK, sent in the User-Agent header.
const Version = "0.1.0"

const userAgent = "agentlog-go/" + Version

// DefaultURL is the server address used when neither Config.URL nor AGENTLOG_URL is set.
const DefaultURL = "http://127.0.0.1:7654"

// Defaults of the Config fields left zero.
const (
	DefaultFlushInterval  = time.Second
	DefaultMaxBatchSize   = 1000
	DefaultMaxQueueSize   = 10_000
	DefaultMaxQueueBytes  = 64 << 20
	DefaultMaxRetries     = 10
	DefaultMinRetryDelay  = 200 * time.Millisecond
	DefaultMaxRetryDelay  = 10 * time.Second
	DefaultRequestTimeout = 10 * time.Second
)

// Config configures a [Client]. Every field is optional.
type Config struct {
	// URL is the server's base URL. Default: env AGENTLOG_URL, else DefaultURL.
	URL string
	// APIKey is sent as "Authorization: Bearer <key>". Default: env AGENTLOG_API_KEY.
	APIKey string
	// Agent is the default agent name of sessions and events.
	Agent string
	// FlushInterval is how often queued items are sent (and how long a span runs
	// before it is shown as "running"). Default: 1s.
	FlushInterval time.Duration
	// MaxBatchSize is the most items per request; a batch goes out as soon as this
	// many are queued. Default: 1000.
	MaxBatchSize int
	// MaxQueueSize is the most items kept in memory; when it is full the oldest are
	// dropped and counted in Stats().Dropped. Default: 10,000.
	MaxQueueSize int
	// MaxQueueBytes bounds the queue's memory the same way. Default: 64 MiB.
	MaxQueueBytes int
	// MaxRetries is how often a batch is retried (network errors, 408, 429, 5xx)
	// before it is given up. Default: 10. Negative: never retry.
	MaxRetries int
	// MinRetryDelay and MaxRetryDelay bound the exponential backoff between retries.
	// A server's Retry-After is honoured (up to one minute). Defaults: 200ms, 10s.
	MinRetryDelay time.Duration
	MaxRetryDelay time.Duration
	// RequestTimeout aborts (and retries) a request without an answer. Default: 10s.
	RequestTimeout time.Duration
	// HTTPClient sends the requests. Default: a client of its own with keep-alive.
	HTTPClient *http.Client
	// OnError receives what went wrong, as an [*Error]: dropped, refused or
	// undeliverable items, values that had to be changed. It is called from a
	// goroutine of the client, never from a recording call, and should return
	// quickly. Default: log.Print.
	OnError func(error)
	// Disabled makes the client record nothing (also env AGENTLOG_DISABLED=1 or true).
	Disabled bool
}

// Stats counts what happened to recorded items (events and session updates).
type Stats struct {
	// Enqueued: items accepted into the queue.
	Enqueued uint64
	// Sent: items the server acknowledged as stored.
	Sent uint64
	// Rejected: items the server refused as invalid (reported through OnError).
	Rejected uint64
	// Dropped: items dropped because the queue was full (the oldest go first).
	Dropped uint64
	// Failed: items given up after retries, on an answer that must not be retried,
	// or at Close.
	Failed uint64
	// Retries: requests that were retried. Requests: requests made, retries included.
	Retries  uint64
	Requests uint64
	// Queued: items waiting. InFlight: items in the request being sent.
	Queued   int
	InFlight int
}

// Client records sessions, spans and events and delivers them to an AgentLog server in
// the background. Its methods are safe for concurrent use. Recording never blocks on
// the network and never fails: problems go to Config.OnError and Stats.
//
// A nil *Client is valid and records nothing, so an agent can carry on when [New]
// returned an error.
type Client struct {
	cfg      Config
	baseURL  string
	clock    *clock
	ids      *idGenerator
	rep      *reporter
	tr       *transport
	disabled bool
	ownHTTP  bool // the HTTP client is ours: Close closes its idle connections
	spans    openSpans

	implicitMu sync.Mutex
	implicit   atomic.Pointer[ActiveSession]
	closeOnce  sync.Once
	closeErr   error
}

// New returns a client configured by cfg and the environment, with its background
// sender running. Call [Client.Close] before the program exits to deliver what is
// queued. New fails only on an unusable configuration (a malformed URL, no API key);
// it then returns a nil *Client, whose methods do nothing.
func New(cfg Config) (*Client, error) {
	if cfg.URL == "" {
		cfg.URL = os.Getenv("AGENTLOG_URL")
	}
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	if cfg.APIKey == "" {
		cfg.APIKey = os.Getenv("AGENTLOG_API_KEY")
	}
	if v := strings.ToLower(os.Getenv("AGENTLOG_DISABLED")); v == "1" || v == "true" {
		cfg.Disabled = true
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("agentlog: URL must be an http:// or https:// address, got " + quoteURL(cfg.URL))
	}
	if cfg.APIKey == "" && !cfg.Disabled {
		return nil, errors.New("agentlog: no API key: set Config.APIKey or AGENTLOG_API_KEY")
	}
	ownHTTP := cfg.HTTPClient == nil
	setDefaults(&cfg)
	base := strings.TrimRight(cfg.URL, "/")
	c := &Client{
		cfg:      cfg,
		baseURL:  base,
		clock:    newClock(),
		ids:      newIDGenerator(),
		disabled: cfg.Disabled,
		ownHTTP:  ownHTTP,
	}
	c.rep = newReporter(cfg.OnError)
	c.tr = newTransport(transportConfig{
		ingestURL:      base + "/v1/ingest",
		apiKey:         cfg.APIKey,
		httpClient:     cfg.HTTPClient,
		flushInterval:  cfg.FlushInterval,
		maxBatchSize:   cfg.MaxBatchSize,
		maxQueueSize:   cfg.MaxQueueSize,
		maxQueueBytes:  cfg.MaxQueueBytes,
		maxRetries:     cfg.MaxRetries,
		minRetryDelay:  cfg.MinRetryDelay,
		maxRetryDelay:  cfg.MaxRetryDelay,
		requestTimeout: cfg.RequestTimeout,
	}, c.rep, c.tick)
	return c, nil
}

func setDefaults(cfg *Config) {
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = DefaultFlushInterval
	}
	if cfg.MaxBatchSize <= 0 {
		cfg.MaxBatchSize = DefaultMaxBatchSize
	}
	if cfg.MaxQueueSize <= 0 {
		cfg.MaxQueueSize = DefaultMaxQueueSize
	}
	if cfg.MaxQueueBytes <= 0 {
		cfg.MaxQueueBytes = DefaultMaxQueueBytes
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = DefaultMaxRetries
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	if cfg.MinRetryDelay <= 0 {
		cfg.MinRetryDelay = DefaultMinRetryDelay
	}
	if cfg.MaxRetryDelay <= 0 {
		cfg.MaxRetryDelay = DefaultMaxRetryDelay
	}
	if cfg.MaxRetryDelay < cfg.MinRetryDelay {
		cfg.MaxRetryDelay = cfg.MinRetryDelay
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.HTTPClient == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 4
		cfg.HTTPClient = &http.Client{Transport: tr}
	}
	if cfg.OnError == nil {
		cfg.OnError = defaultOnError
	}
}

func quoteURL(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return "\"" + s + "\""
}

// URL is the server base URL the client sends to.
func (c *Client) URL() string {
	if c == nil {
		return ""
	}
	return c.baseURL
}

// Flush waits until every item recorded before the call has been handled, and
// OnError has been called about those that failed, or until ctx is done. It returns
// nil when all of them were stored; an [*Error] counting those that were dropped,
// refused or given up (and not counted by an earlier Flush); ctx.Err(); or
// [ErrClosed] after Close.
func (c *Client) Flush(ctx context.Context) error {
	if c == nil || c.disabled {
		return nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	err := c.tr.flush(ctx)
	if ctx.Err() == nil {
		c.rep.sync(ctx)
	}
	return err
}

// Close ends the client's implicit session, marks spans still open as running,
// delivers what is queued until ctx is done, and stops the background goroutines.
// What could not be delivered counts in Stats().Failed. Recording after Close is
// ignored (and reported once). Close returns nil when everything was stored, an
// [*Error] counting the items that were not (like Flush), or ctx.Err() if ctx ended
// first; later calls return nil.
func (c *Client) Close(ctx context.Context) error {
	if c == nil {
		return nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	first := false
	c.closeOnce.Do(func() {
		first = true
		if !c.disabled {
			c.spans.each(func(sp *Span) bool { return !sp.snapshotted.Load() }, (*Span).snapshot)
			if s := c.implicit.Load(); s != nil {
				s.End(StatusSuccess)
			}
		}
		c.closeErr = c.tr.close(ctx)
		c.rep.stop()
		if c.ownHTTP {
			c.cfg.HTTPClient.CloseIdleConnections()
		}
	})
	if !first {
		return nil
	}
	return c.closeErr
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	if c == nil {
		return Stats{}
	}
	return c.tr.snapshot()
}

// tick runs on every flush interval in the sender goroutine.
func (c *Client) tick() {
	c.clock.resync()
	threshold := c.clock.nowMicros() - c.cfg.FlushInterval.Microseconds()
	c.spans.each(func(sp *Span) bool {
		return sp.started <= threshold && !sp.snapshotted.Load()
	}, (*Span).snapshot)
}

// enqueue queues an encoded item; after Close it is ignored and reported once.
func (c *Client) enqueue(kind itemKind, data []byte) {
	if !c.tr.enqueue(kind, data) {
		c.rep.once("closed", &Error{Code: CodeClosed, Message: "recorded after Close; ignored"})
	}
}

// scratch buffers for encoding, so the hot path allocates only the final item.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func (c *Client) encodeEvent(e *wireEvent) []byte {
	bp := scratchPool.Get().(*[]byte)
	b := appendEvent((*bp)[:0], e, c.rep.warn)
	out := append(make([]byte, 0, len(b)), b...)
	if cap(b) <= 64<<10 {
		*bp = b
		scratchPool.Put(bp)
	}
	return out
}

func (c *Client) encodeSession(s *wireSession) []byte {
	return appendSession(make([]byte, 0, 256), s, c.rep.warn)
}

// ---------------------------------------------------------------- context

type ctxKey struct{}

// scope is what a context carries: the innermost span, or a session.
func scopeOf(ctx context.Context) (*Span, *ActiveSession) {
	if ctx == nil {
		return nil, nil
	}
	switch v := ctx.Value(ctxKey{}).(type) {
	case *Span:
		return v, v.session
	case *ActiveSession:
		return nil, v
	}
	return nil, nil
}

// SpanFromContext returns the span ctx carries (the innermost one started with
// [Client.StartSpan]), or nil.
func SpanFromContext(ctx context.Context) *Span {
	sp, _ := scopeOf(ctx)
	return sp
}

// SessionFromContext returns the session ctx carries, or nil.
func SessionFromContext(ctx context.Context) *ActiveSession {
	_, s := scopeOf(ctx)
	return s
}

// ContextWithSpan returns a copy of ctx that carries sp, so that spans and events
// recorded with it become children of sp. Useful when work for a span continues
// under a context that did not come from StartSpan.
func ContextWithSpan(ctx context.Context, sp *Span) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	if sp == nil {
		return ctx
	}
	return context.WithValue(ctx, ctxKey{}, sp)
}

// ContextWithSession returns a copy of ctx that carries s (and no span).
func ContextWithSession(ctx context.Context, s *ActiveSession) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	if s == nil {
		return ctx
	}
	return context.WithValue(ctx, ctxKey{}, s)
}

// implicitSession is the session of spans and events recorded outside any session,
// created on first use and ended (success) by Close.
func (c *Client) implicitSession() *ActiveSession {
	if s := c.implicit.Load(); s != nil {
		return s
	}
	c.implicitMu.Lock()
	defer c.implicitMu.Unlock()
	if s := c.implicit.Load(); s != nil {
		return s
	}
	s := c.startSession(Session{Agent: c.cfg.Agent})
	c.implicit.Store(s)
	return s
}

// ---------------------------------------------------------------- events

// Log records one event and returns its id. The event belongs to the session of ctx
// and is a child of the span of ctx, unless ev says otherwise. Log never blocks and
// never fails; invalid values are fixed and reported through OnError.
func (c *Client) Log(ctx context.Context, ev Event) string {
	if c == nil || c.disabled {
		return ev.ID
	}
	parent, session := scopeOf(ctx)
	w := wireEvent{
		typ:      ev.Type,
		name:     ev.Name,
		agent:    ev.Agent,
		status:   ev.Status,
		model:    ev.Model,
		provider: ev.Provider,
		usage:    ev.Usage,
		cost:     ev.CostUSD,
		tags:     ev.Tags,
		traceID:  ev.TraceID,
		spanID:   ev.SpanID,
	}
	if w.typ == "" {
		w.typ = TypeLog
	}
	switch {
	case ev.SessionID != "":
		w.sessionID = ev.SessionID
	case session != nil:
		w.sessionID = session.id
	default:
		session = c.implicitSession()
		w.sessionID = session.id
	}
	if ev.ParentID != "" {
		w.parentID = stringID(ev.ParentID)
	} else if parent != nil {
		w.parentID = parent.id
	}
	if w.agent == "" {
		switch {
		case parent != nil && parent.agent != "":
			w.agent = parent.agent
		case session != nil && session.agent != "":
			w.agent = session.agent
		default:
			w.agent = c.cfg.Agent
		}
	}
	now := c.clock.nowMicros()
	if ev.StartedAt.IsZero() {
		w.started = now
	} else {
		w.started = timeMicros(ev.StartedAt)
	}
	if !ev.EndedAt.IsZero() {
		w.ended, w.hasEnded = timeMicros(ev.EndedAt), true
	}
	warn := c.rep.warn
	w.input = encodePayload(ev.Input, "input", warn)
	w.output = encodePayload(ev.Output, "output", warn)
	if ev.Error != nil {
		w.err = errorInfoOf(ev.Error, "")
	}
	if len(ev.Attributes) > 0 {
		w.attrs = encodeAttrs(ev.Attributes, warn)
	}
	var id string
	if ev.ID != "" {
		w.id = stringID(ev.ID)
		id = ev.ID
	} else {
		w.id = uuidID(c.ids.next(now / 1000))
		id = w.id.String()
	}
	c.enqueue(kindEvent, c.encodeEvent(&w))
	return id
}

func encodeAttrs(m map[string]any, warn warnFunc) []attr {
	out := make([]attr, 0, len(m))
	for k, v := range m {
		out = append(out, attr{key: k, json: attrJSON(v, warn)})
	}
	// Map order is random; sort so the same attributes encode the same way.
	slices.SortFunc(out, func(a, b attr) int { return strings.Compare(a.key, b.key) })
	return out
}

func attrJSON(v any, warn warnFunc) []byte {
	if v == nil {
		return []byte("null")
	}
	return encodePayload(v, "attributes", warn)
}
