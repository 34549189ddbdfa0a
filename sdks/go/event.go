package agentlog

import (
	"errors"
	"fmt"
	"time"
)

// EventType says what an event records. Values outside the constants below are sent
// as [TypeCustom] (and reported once through Config.OnError).
type EventType string

// The event types the server knows (docs/api.md).
const (
	TypeAgent     EventType = "agent"
	TypeStep      EventType = "step"
	TypeLLM       EventType = "llm"
	TypeTool      EventType = "tool"
	TypeRetrieval EventType = "retrieval"
	TypeEmbedding EventType = "embedding"
	TypeMessage   EventType = "message"
	TypeAction    EventType = "action"
	TypeError     EventType = "error"
	TypeLog       EventType = "log"
	TypeCustom    EventType = "custom"
)

// EventStatus is the outcome of an event.
type EventStatus string

// Event statuses. A span records StatusOK when it ends, or StatusError after
// [Span.RecordError]; StatusRunning marks a span that has not ended yet.
const (
	StatusOK      EventStatus = "ok"
	StatusError   EventStatus = "error"
	StatusRunning EventStatus = "running"
)

// SessionStatus is how a session ended; see [ActiveSession.End]. A session is
// "running" from [Client.StartSession] until then.
type SessionStatus string

// Terminal session statuses.
const (
	StatusSuccess   SessionStatus = "success"
	StatusFailure   SessionStatus = "failure"
	StatusCancelled SessionStatus = "cancelled"
)

// Usage holds the token counts of an LLM call. Zero fields are not sent; the server
// computes TotalTokens as InputTokens+OutputTokens when it is zero. Negative values are
// ignored (and reported).
type Usage struct {
	InputTokens  int64
	OutputTokens int64
	TotalTokens  int64
	CachedTokens int64
}

func (u Usage) isZero() bool { return u == Usage{} }

// ErrorInfo is an error as the server stores it. Pass one as [Event.Error] or to
// [Span.RecordError] to choose the recorded type, message and stack yourself; any other
// error is recorded with its Go type, its Error() text and, for RecordError, the stack
// of the caller.
type ErrorInfo struct {
	Type    string
	Message string
	Stack   string
}

// Error returns the message.
func (e *ErrorInfo) Error() string { return e.Message }

// Event is one thing that happened, recorded with [Client.Log]. Every field is
// optional: the id, session, parent and start time come from the context and the
// clock when left empty.
type Event struct {
	// ID is the event id (1..128 bytes). Default: a UUIDv7 made by the client, so a
	// batch re-sent after a lost answer replaces itself instead of duplicating.
	// Re-using an id replaces the earlier event.
	ID string
	// SessionID defaults to the session of the context (see [Client.StartSession]),
	// else to the client's implicit session.
	SessionID string
	// ParentID defaults to the span of the context (see [Client.StartSpan]).
	ParentID string
	// Type defaults to [TypeLog].
	Type EventType
	Name string
	// Agent defaults to the agent of the enclosing span or session, else Config.Agent.
	Agent string
	// StartedAt defaults to now. EndedAt is optional; one before StartedAt is moved
	// to StartedAt.
	StartedAt time.Time
	EndedAt   time.Time
	// Status defaults to StatusError when Error is set, else StatusOK.
	Status EventStatus
	// Input and Output take any value encoding/json can marshal (a string is sent
	// as a JSON string, a json.RawMessage as is). They are marshaled before Log
	// returns, so the caller may change them afterwards. Values larger than about
	// 1 MB are replaced by a truncated preview (reported once).
	Input  any
	Output any
	// Error is recorded as {type, message, stack}; see [ErrorInfo].
	Error    error
	Model    string
	Provider string
	Usage    Usage
	// CostUSD is the cost in US dollars; zero is not sent.
	CostUSD    float64
	Attributes map[string]any
	Tags       []string
	// TraceID and SpanID link the event to a distributed trace (OpenTelemetry ids).
	TraceID string
	SpanID  string
}

// Session describes a session (one run of an agent) for [Client.StartSession].
type Session struct {
	// ID is the session id (1..128 bytes). Default: a UUIDv7. Re-using an id
	// continues that session.
	ID    string
	Name  string
	Agent string
	// UserID is the end user the agent works for.
	UserID   string
	Tags     []string
	Metadata map[string]any
	// StartedAt defaults to now.
	StartedAt time.Time
}

// errorInfoOf converts err to what is sent. stack is used when err carries none.
func errorInfoOf(err error, stack string) *ErrorInfo {
	var info *ErrorInfo
	if errors.As(err, &info) && info != nil {
		out := *info
		if out.Message == "" {
			out.Message = errorText(err)
		}
		if out.Stack == "" {
			out.Stack = stack
		}
		return &out
	}
	return &ErrorInfo{Type: errorTypeName(err), Message: errorText(err), Stack: stack}
}

// errorText is err.Error(), surviving an Error method that panics (a nil pointer in
// an error interface, typically).
func errorText(err error) (s string) {
	defer func() {
		if r := recover(); r != nil {
			s = fmt.Sprintf("[%T.Error() panicked: %v]", err, r)
		}
	}()
	return err.Error()
}

// errorTypeName is the Go type of err, looking through the standard library's generic
// wrappers (fmt.Errorf, errors.Join, errors.New) for a more telling one.
func errorTypeName(err error) string {
	name := fmt.Sprintf("%T", err)
	for e := err; e != nil; {
		t := fmt.Sprintf("%T", e)
		switch t {
		case "*errors.errorString", "*fmt.wrapError", "*fmt.wrapErrors", "*errors.joinError":
		default:
			return t
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			break
		}
		e = u.Unwrap()
	}
	return name
}
