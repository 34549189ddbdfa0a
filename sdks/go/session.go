package agentlog

import (
	"context"
	"strconv"
	"sync/atomic"
)

// ActiveSession is a session that has started: one run of an agent. Spans and events
// recorded with a context from [Client.StartSession] belong to it. Its methods are safe
// for concurrent use, and do nothing on a nil *ActiveSession.
type ActiveSession struct {
	c     *Client
	id    string
	agent string
	ended atomic.Bool
}

// StartSession starts a session and returns a context that carries it: spans and events
// recorded with that context (or one derived from it) belong to the session.
func (c *Client) StartSession(ctx context.Context, s Session) (context.Context, *ActiveSession) {
	if ctx == nil {
		ctx = context.Background()
	}
	if c == nil || c.disabled {
		return ctx, nil
	}
	as := c.startSession(s)
	return context.WithValue(ctx, ctxKey{}, as), as
}

func (c *Client) startSession(s Session) *ActiveSession {
	now := c.clock.nowMicros()
	id := s.ID
	if id == "" {
		id = uuidID(c.ids.next(now / 1000)).String()
	}
	agent := s.Agent
	if agent == "" {
		agent = c.cfg.Agent
	}
	as := &ActiveSession{c: c, id: id, agent: agent}
	w := wireSession{
		id:      id,
		name:    s.Name,
		agent:   agent,
		userID:  s.UserID,
		tags:    s.Tags,
		status:  "running",
		started: now, hasStarted: true,
	}
	if !s.StartedAt.IsZero() {
		w.started = timeMicros(s.StartedAt)
	}
	w.metadata = encodeObject(s.Metadata, "metadata", c.rep.warn)
	c.enqueue(kindSession, c.encodeSession(&w))
	return as
}

// ID returns the session id.
func (s *ActiveSession) ID() string {
	if s == nil {
		return ""
	}
	return s.id
}

// Update changes the session's name, agent, user, tags or metadata on the server: the
// non-zero fields of u are sent (ID and StartedAt are ignored).
func (s *ActiveSession) Update(u Session) {
	if s == nil {
		return
	}
	w := wireSession{id: s.id, name: u.Name, agent: u.Agent, userID: u.UserID, tags: u.Tags}
	w.metadata = encodeObject(u.Metadata, "metadata", s.c.rep.warn)
	s.c.enqueue(kindSession, s.c.encodeSession(&w))
}

// End ends the session with status (StatusSuccess when empty; an unknown status is
// sent as StatusFailure and reported). Only the first End counts. Spans still open keep
// recording into the session.
func (s *ActiveSession) End(status SessionStatus) {
	if s == nil || !s.ended.CompareAndSwap(false, true) {
		return
	}
	if status == "" {
		status = StatusSuccess
	} else if !validSessionStatus(status) {
		s.c.rep.warn("session.status", "unknown session status "+strconv.Quote(string(status))+"; sent as failure")
		status = StatusFailure
	}
	w := wireSession{id: s.id, status: string(status), ended: s.c.clock.nowMicros(), hasEnded: true}
	s.c.enqueue(kindSession, s.c.encodeSession(&w))
}
