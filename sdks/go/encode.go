package agentlog

// The wire encoder: events and session updates as the JSON of POST /v1/ingest
// (docs/api.md), appended to a byte slice without reflection. Every value is made
// acceptable to the server here: a field the server would refuse costs the whole
// event, and a body that is not valid JSON costs the whole batch, so strings are
// cut to the documented limits at a character boundary, invalid UTF-8 becomes
// U+FFFD, unknown enum values fall back, and the caller hears about it once per
// kind through warn.

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Server limits (docs/api.md, server/src/model/types.h), in bytes of the decoded string.
const (
	maxIDBytes    = 128
	maxNameBytes  = 1024
	maxAgentBytes = 256
	maxModelBytes = 256
	maxTagBytes   = 256
	maxTags       = 100
	// Input, output, attributes and metadata: the server allows 1 MiB after its own
	// re-serialization; keep a margin under it.
	maxPayloadBytes      = 1_000_000
	maxErrorTypeBytes    = 256
	maxErrorMessageBytes = 100_000
	maxErrorStackBytes   = 200_000
	// The server refuses documents nested deeper than 512 levels; an event's payload
	// starts three levels down.
	maxPayloadDepth = 200
	// Years 0001..9999, in microseconds since the Unix epoch.
	minTimeMicros = -62135596800_000000
	maxTimeMicros = 253402300799_999999
)

// warnFunc reports a value that had to be changed; key identifies the kind of problem
// so each is reported once.
type warnFunc func(key, message string)

// eventID is an id the client made (a UUIDv7, kept as bytes until it is encoded) or one
// the caller chose (str). The zero value means "none".
type eventID struct {
	uuid   [16]byte
	str    string
	isUUID bool
}

func uuidID(u [16]byte) eventID { return eventID{uuid: u, isUUID: true} }
func stringID(s string) eventID { return eventID{str: s} }

func (id eventID) valid() bool { return id.isUUID || id.str != "" }

// String is the id as sent (before any truncation).
func (id eventID) String() string {
	if !id.isUUID {
		return id.str
	}
	var b [36]byte
	return string(appendUUID(b[:0], id.uuid))
}

// attr is one attribute with its value already encoded as JSON.
type attr struct {
	key  string
	json []byte
}

// wireEvent is an event with everything resolved: ids, times (microseconds since the
// epoch), payloads encoded as JSON.
type wireEvent struct {
	id        eventID
	sessionID string
	parentID  eventID
	typ       EventType
	name      string
	agent     string
	started   int64
	ended     int64
	hasEnded  bool
	status    EventStatus
	input     []byte
	output    []byte
	err       *ErrorInfo
	model     string
	provider  string
	usage     Usage
	cost      float64
	attrs     []attr
	tags      []string
	traceID   string
	spanID    string
}

// wireSession is a session update; empty fields are left unchanged on the server.
type wireSession struct {
	id       string
	name     string
	agent    string
	userID   string
	tags     []string
	metadata []byte
	status   string
	started  int64
	ended    int64
	// hasStarted / hasEnded say whether started / ended are set.
	hasStarted bool
	hasEnded   bool
}

func validEventType(t EventType) bool {
	switch t {
	case TypeAgent, TypeStep, TypeLLM, TypeTool, TypeRetrieval, TypeEmbedding, TypeMessage,
		TypeAction, TypeError, TypeLog, TypeCustom:
		return true
	}
	return false
}

func validEventStatus(s EventStatus) bool {
	return s == StatusOK || s == StatusError || s == StatusRunning
}

func validSessionStatus(s SessionStatus) bool {
	return s == StatusSuccess || s == StatusFailure || s == StatusCancelled
}

// appendEvent appends the wire JSON of e.
func appendEvent(b []byte, e *wireEvent, warn warnFunc) []byte {
	b = append(b, `{"id":`...)
	b = appendID(b, e.id, "id", warn)
	b = append(b, `,"session_id":`...)
	b = appendID(b, stringID(e.sessionID), "session_id", warn)
	if e.parentID.valid() {
		b = append(b, `,"parent_id":`...)
		b = appendID(b, e.parentID, "parent_id", warn)
	}
	typ := e.typ
	if !validEventType(typ) {
		if typ != "" {
			warn("type", "unknown event type "+strconv.Quote(string(typ))+"; sent as custom")
		}
		typ = TypeCustom
	}
	b = append(b, `,"type":"`...)
	b = append(b, typ...)
	b = append(b, '"')
	b = appendTextField(b, `,"name":`, e.name, maxNameBytes, "name", warn)
	b = appendTextField(b, `,"agent":`, e.agent, maxAgentBytes, "agent", warn)
	started := clampTime(e.started, "started_at", warn)
	b = append(b, `,"started_at":"`...)
	b = appendTime(b, started)
	b = append(b, '"')
	if e.hasEnded {
		ended := clampTime(e.ended, "ended_at", warn)
		if ended < started {
			warn("ended_at", "ended_at was before started_at; set to started_at")
			ended = started
		}
		b = append(b, `,"ended_at":"`...)
		b = appendTime(b, ended)
		b = append(b, '"')
	}
	if e.status != "" {
		if validEventStatus(e.status) {
			b = append(b, `,"status":"`...)
			b = append(b, e.status...)
			b = append(b, '"')
		} else {
			warn("status", "unknown event status "+strconv.Quote(string(e.status))+"; not sent")
		}
	}
	if e.input != nil {
		b = append(b, `,"input":`...)
		b = append(b, e.input...)
	}
	if e.output != nil {
		b = append(b, `,"output":`...)
		b = append(b, e.output...)
	}
	if e.err != nil {
		b = appendErrorInfo(b, e.err, warn)
	}
	b = appendTextField(b, `,"model":`, e.model, maxModelBytes, "model", warn)
	b = appendTextField(b, `,"provider":`, e.provider, maxModelBytes, "provider", warn)
	if !e.usage.isZero() {
		b = appendUsage(b, e.usage, warn)
	}
	if e.cost != 0 {
		if math.IsNaN(e.cost) || math.IsInf(e.cost, 0) || e.cost < 0 {
			warn("cost_usd", "cost must be a finite number >= 0; not sent")
		} else {
			b = append(b, `,"cost_usd":`...)
			b = strconv.AppendFloat(b, e.cost, 'g', -1, 64)
		}
	}
	if len(e.attrs) > 0 {
		b = append(b, `,"attributes":`...)
		b = appendAttrs(b, e.attrs, warn)
	}
	if e.tags != nil {
		b = append(b, `,"tags":`...)
		b = appendTags(b, e.tags, warn)
	}
	if e.traceID != "" {
		b = append(b, `,"trace_id":`...)
		b = appendID(b, stringID(e.traceID), "trace_id", warn)
	}
	if e.spanID != "" {
		b = append(b, `,"span_id":`...)
		b = appendID(b, stringID(e.spanID), "span_id", warn)
	}
	return append(b, '}')
}

// appendSession appends the wire JSON of a session update.
func appendSession(b []byte, s *wireSession, warn warnFunc) []byte {
	b = append(b, `{"id":`...)
	b = appendID(b, stringID(s.id), "session.id", warn)
	b = appendTextField(b, `,"name":`, s.name, maxNameBytes, "session.name", warn)
	b = appendTextField(b, `,"agent":`, s.agent, maxAgentBytes, "session.agent", warn)
	b = appendTextField(b, `,"user_id":`, s.userID, maxAgentBytes, "session.user_id", warn)
	if s.tags != nil {
		b = append(b, `,"tags":`...)
		b = appendTags(b, s.tags, warn)
	}
	if s.metadata != nil {
		b = append(b, `,"metadata":`...)
		b = append(b, s.metadata...)
	}
	if s.status != "" {
		b = append(b, `,"status":"`...)
		b = append(b, s.status...)
		b = append(b, '"')
	}
	var started int64
	if s.hasStarted {
		started = clampTime(s.started, "session.started_at", warn)
		b = append(b, `,"started_at":"`...)
		b = appendTime(b, started)
		b = append(b, '"')
	}
	if s.hasEnded {
		ended := clampTime(s.ended, "session.ended_at", warn)
		if s.hasStarted && ended < started {
			ended = started
		}
		b = append(b, `,"ended_at":"`...)
		b = appendTime(b, ended)
		b = append(b, '"')
	}
	return append(b, '}')
}

// appendID appends an id: a UUID, or a string of 1..128 bytes. An empty id cannot
// happen through the API; if it does, it is sent as "-" rather than losing the item.
func appendID(b []byte, id eventID, field string, warn warnFunc) []byte {
	if id.isUUID {
		b = append(b, '"')
		b = appendUUID(b, id.uuid)
		return append(b, '"')
	}
	if id.str == "" {
		return append(b, `"-"`...)
	}
	b, cut := appendString(b, id.str, maxIDBytes, -1)
	if cut {
		warn("long:"+field, field+" was longer than 128 bytes and was truncated")
	}
	return b
}

// appendTextField appends key and a string of at most maxBytes, or nothing for "".
func appendTextField(b []byte, key, s string, maxBytes int, field string, warn warnFunc) []byte {
	if s == "" {
		return b
	}
	b = append(b, key...)
	b, cut := appendString(b, s, maxBytes, -1)
	if cut {
		warn("long:"+field, field+" was longer than "+strconv.Itoa(maxBytes)+" bytes and was truncated")
	}
	return b
}

func appendUsage(b []byte, u Usage, warn warnFunc) []byte {
	b = append(b, `,"usage":{`...)
	n := 0
	add := func(key string, v int64) {
		if v == 0 {
			return
		}
		if v < 0 {
			warn("usage", "token counts must not be negative; "+key+" not sent")
			return
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, '"')
		b = append(b, key...)
		b = append(b, `":`...)
		b = strconv.AppendInt(b, v, 10)
	}
	add("input_tokens", u.InputTokens)
	add("output_tokens", u.OutputTokens)
	total := u.TotalTokens
	if total == 0 && u.InputTokens > 0 && u.OutputTokens > 0 && u.InputTokens > math.MaxInt64-u.OutputTokens {
		// The server would compute an overflowing total and refuse the event.
		total = math.MaxInt64
	}
	add("total_tokens", total)
	add("cached_tokens", u.CachedTokens)
	return append(b, '}')
}

func appendErrorInfo(b []byte, e *ErrorInfo, warn warnFunc) []byte {
	b = append(b, `,"error":{`...)
	n := 0
	add := func(key, v string, max int) {
		if v == "" {
			return
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, '"')
		b = append(b, key...)
		b = append(b, `":`...)
		var cut bool
		b, cut = appendString(b, v, max, -1)
		if cut {
			warn("long:error."+key, "error "+key+" was longer than "+strconv.Itoa(max)+" bytes and was truncated")
		}
	}
	add("type", e.Type, maxErrorTypeBytes)
	add("message", e.Message, maxErrorMessageBytes)
	add("stack", e.Stack, maxErrorStackBytes)
	return append(b, '}')
}

func appendTags(b []byte, tags []string, warn warnFunc) []byte {
	if len(tags) > maxTags {
		warn("tags.count", "more than 100 tags; the rest were dropped")
		tags = tags[:maxTags]
	}
	b = append(b, '[')
	for i, t := range tags {
		if i > 0 {
			b = append(b, ',')
		}
		var cut bool
		b, cut = appendString(b, t, maxTagBytes, -1)
		if cut {
			warn("long:tag", "a tag was longer than 256 bytes and was truncated")
		}
	}
	return append(b, ']')
}

// appendAttrs appends attributes as one object; later duplicates of a key win, and
// attributes that would take the object over the payload limit are dropped.
func appendAttrs(b []byte, attrs []attr, warn warnFunc) []byte {
	start := len(b)
	b = append(b, '{')
	n := 0
	for i, a := range attrs {
		if a.json == nil || shadowed(attrs, i) {
			continue
		}
		mark := len(b)
		if n > 0 {
			b = append(b, ',')
		}
		b, _ = appendString(b, a.key, maxNameBytes, -1)
		b = append(b, ':')
		b = append(b, a.json...)
		if len(b)-start+1 > maxPayloadBytes {
			b = b[:mark]
			warn("attributes.size", "attributes were larger than ~1 MB; some were dropped")
			continue
		}
		n++
	}
	return append(b, '}')
}

// shadowed reports whether a later attribute has the same key as attrs[i].
func shadowed(attrs []attr, i int) bool {
	for j := i + 1; j < len(attrs); j++ {
		if attrs[j].key == attrs[i].key && attrs[j].json != nil {
			return true
		}
	}
	return false
}

// clampTime keeps a time inside the years the server accepts.
func clampTime(us int64, field string, warn warnFunc) int64 {
	if us < minTimeMicros {
		warn("time:"+field, field+" was before year 1; clamped")
		return minTimeMicros
	}
	if us > maxTimeMicros {
		warn("time:"+field, field+" was after year 9999; clamped")
		return maxTimeMicros
	}
	return us
}

// timeMicros converts t to microseconds since the epoch (0 for the zero time).
func timeMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	s := t.Unix()
	// Outside ±292,000 years UnixMicro overflows; clamp first.
	if s < minTimeMicros/1_000_000-1 {
		return minTimeMicros - 1
	}
	if s > maxTimeMicros/1_000_000+1 {
		return maxTimeMicros + 1
	}
	return t.UnixMicro()
}

// appendTime appends an RFC 3339 UTC time with microseconds, e.g.
// 2026-11-25T10:00:00.123456Z (what the server itself writes). us must be within
// years 1..9999 (see clampTime).
func appendTime(b []byte, us int64) []byte {
	secs := us / 1_000_000
	frac := us % 1_000_000
	if frac < 0 {
		frac += 1_000_000
		secs--
	}
	days := secs / 86400
	rem := secs % 86400
	if rem < 0 {
		rem += 86400
		days--
	}
	year, month, day := civilFromDays(days)
	hms := int(rem)
	f := int(frac)
	yy := year % 100
	h, mi, s := hms/3600, hms/60%60, hms%60
	f1, f2, f3 := f/10000, f/100%100, f%100
	return append(b,
		byte('0'+year/1000), byte('0'+year/100%10), pairs[2*yy], pairs[2*yy+1], '-',
		pairs[2*month], pairs[2*month+1], '-', pairs[2*day], pairs[2*day+1], 'T',
		pairs[2*h], pairs[2*h+1], ':', pairs[2*mi], pairs[2*mi+1], ':', pairs[2*s], pairs[2*s+1], '.',
		pairs[2*f1], pairs[2*f1+1], pairs[2*f2], pairs[2*f2+1], pairs[2*f3], pairs[2*f3+1], 'Z')
}

// civilFromDays converts days since 1970-01-01 to a proleptic Gregorian date
// (H. Hinnant's days_from_civil inverse, exact over the whole range).
func civilFromDays(z int64) (year, month, day int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return int(y), int(m), int(d)
}

// pairs holds "00" to "99".
const pairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

const hexDigits = "0123456789abcdef"

// appendUUID appends u in the canonical 8-4-4-4-12 form.
func appendUUID(b []byte, u [16]byte) []byte {
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&0x0f])
	}
	return b
}

// appendString appends s as a JSON string. maxDecoded limits the bytes of the string
// the server will decode (its field limits), maxEncoded the bytes appended, quotes
// included; -1 means no limit. Invalid UTF-8 becomes U+FFFD. The string is cut at a
// character boundary; cut reports whether it was.
func appendString(b []byte, s string, maxDecoded, maxEncoded int) (_ []byte, cut bool) {
	if maxDecoded < 0 {
		maxDecoded = math.MaxInt
	}
	if maxEncoded < 0 {
		maxEncoded = math.MaxInt
	}
	start := len(b)
	b = append(b, '"')
	decoded := 0
	i := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			// Fast path: a run of ASCII characters that need no escaping.
			j := i
			for j < len(s) && s[j] < utf8.RuneSelf && s[j] >= 0x20 && s[j] != '"' && s[j] != '\\' {
				j++
			}
			if j > i {
				n := j - i
				if room := min(maxDecoded-decoded, maxEncoded-(len(b)-start)-1); n > room {
					if room > 0 {
						b = append(b, s[i:i+room]...)
					}
					return append(b, '"'), true
				}
				b = append(b, s[i:j]...)
				decoded += n
				i = j
				continue
			}
			// One character that needs an escape: \" \\ \n \r \t or \u00XX.
			n := 2
			if c < 0x20 && c != '\n' && c != '\r' && c != '\t' {
				n = 6
			}
			if decoded+1 > maxDecoded || len(b)-start+n+1 > maxEncoded {
				return append(b, '"'), true
			}
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0x0f])
			}
			decoded++
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		n := size
		if r == utf8.RuneError && size == 1 {
			n = 3 // written as U+FFFD
		}
		if decoded+n > maxDecoded || len(b)-start+n+1 > maxEncoded {
			return append(b, '"'), true
		}
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		decoded += n
		i += size
	}
	return append(b, '"'), false
}
