package agentlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

func TestAppendStringEscapesAndLimits(t *testing.T) {
	for _, tc := range []struct {
		name       string
		in         string
		maxDecoded int
		maxEncoded int
		want       string // the decoded result
		wantCut    bool
	}{
		{"plain", "hello", -1, -1, "hello", false},
		{"escapes", "a\"b\\c\nd\re\tf\x00g\x1fh\x7f", -1, -1, "a\"b\\c\nd\re\tf\x00g\x1fh\x7f", false},
		{"unicode", "héllo 世界 😀 \u2028", -1, -1, "héllo 世界 😀 \u2028", false},
		{"invalid utf-8", "a\xffb\xc3", -1, -1, "a\uFFFDb\uFFFD", false},
		{"cut ascii", "abcdef", 3, -1, "abc", true},
		{"cut at a character boundary", "ééé", 5, -1, "éé", true},
		{"replacement counts 3 bytes", "\xff\xff", 4, -1, "\uFFFD", true},
		{"exact fit", "abc", 3, -1, "abc", false},
		{"encoded budget", "a\x00b", -1, 8, "a", true}, // "a\u0000 would need 9
		{"encoded budget ascii", "abcdef", -1, 5, "abc", true},
		{"empty", "", 0, -1, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, cut := appendString(nil, tc.in, tc.maxDecoded, tc.maxEncoded)
			if !json.Valid(b) || !utf8.Valid(b) {
				t.Fatalf("invalid JSON %q", b)
			}
			var got string
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want || cut != tc.wantCut {
				t.Errorf("got %q (cut %v), want %q (cut %v)", got, cut, tc.want, tc.wantCut)
			}
			if tc.maxEncoded >= 0 && len(b) > tc.maxEncoded {
				t.Errorf("encoded %d bytes, budget %d", len(b), tc.maxEncoded)
			}
		})
	}
}

func TestAppendTimeMatchesRFC3339Micro(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 11, 25, 10, 0, 0, 123456000, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC), // the zero time itself means "not set"
		time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(2024, 2, 29, 12, 30, 45, 1000, time.FixedZone("x", -7*3600)),
	} {
		got := string(appendTime(nil, timeMicros(tm)))
		want := tm.UTC().Format("2006-01-02T15:04:05.000000Z")
		if got != want {
			t.Errorf("appendTime(%v) = %s, want %s", tm, got, want)
		}
	}
	// Every 13th day from year 1 to 9999, at varying times of day.
	for us := int64(minTimeMicros); us <= maxTimeMicros; us += 13*86400_000000 + 3_723_456_789 {
		got := string(appendTime(nil, us))
		if want := time.UnixMicro(us).UTC().Format("2006-01-02T15:04:05.000000Z"); got != want {
			t.Fatalf("appendTime(%d) = %s, want %s", us, got, want)
		}
	}
	var w []string
	clamp := func(us int64) int64 { return clampTime(us, "t", func(k, m string) { w = append(w, k) }) }
	if clamp(math.MinInt64) != minTimeMicros || clamp(math.MaxInt64) != maxTimeMicros || len(w) != 2 {
		t.Errorf("clampTime does not clamp: %v", w)
	}
	if timeMicros(time.Time{}) != 0 || timeMicros(time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC)) <= maxTimeMicros {
		t.Error("timeMicros of zero / far-future times")
	}
}

func TestUUIDv7Layout(t *testing.T) {
	g := newIDGenerator()
	ms := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC).UnixMilli()
	u := g.next(ms)
	s := uuidID(u).String()
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[14] != '7' || !strings.ContainsRune("89ab", rune(s[19])) {
		t.Fatalf("not a UUIDv7: %s", s)
	}
	if got := fmt.Sprintf("%012x", ms); strings.ReplaceAll(s[:13], "-", "") != got {
		t.Errorf("timestamp %s, want %s", s[:13], got)
	}
	if a, b := uuidID(g.next(ms)).String(), uuidID(g.next(ms+1)).String(); a >= b {
		t.Errorf("ids do not sort by time: %s >= %s", a, b)
	}
}

func TestUUIDsAreUniqueAcrossGoroutines(t *testing.T) {
	g := newIDGenerator()
	const goroutines, per = 16, 20000
	out := make([][][16]byte, goroutines)
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < per; j++ {
				out[i] = append(out[i], g.next(1))
			}
		}(i)
	}
	wg.Wait()
	seen := make(map[[16]byte]bool, goroutines*per)
	for _, ids := range out {
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("duplicate id %x", id)
			}
			seen[id] = true
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1", time.Second, true},
		{" 2 ", 2 * time.Second, true},
		{"0.5", 500 * time.Millisecond, true},
		{"0", 0, true},
		{"3600", maxRetryAfter, true},
		{"Inf", maxRetryAfter, true},
		{"-1", 0, false},
		{"NaN", 0, false},
		{"", 0, false},
		{"soon", 0, false},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
	} {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoffIsExponentialWithJitterAndHonoursRetryAfter(t *testing.T) {
	tr := &transport{cfg: transportConfig{minRetryDelay: 100 * time.Millisecond, maxRetryDelay: 2 * time.Second}}
	for attempt := 0; attempt < 70; attempt++ {
		exp := min(2*time.Second, 100*time.Millisecond<<min(attempt, 30))
		for i := 0; i < 50; i++ {
			if d := tr.backoff(attempt, outcome{}); d < exp/2 || d > exp {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, exp/2, exp)
			}
		}
	}
	distinct := map[time.Duration]bool{}
	for i := 0; i < 20; i++ {
		distinct[tr.backoff(3, outcome{})] = true
	}
	if len(distinct) < 5 {
		t.Error("no jitter")
	}
	for _, ra := range []time.Duration{0, time.Second, 30 * time.Second, time.Hour} {
		d := tr.backoff(0, outcome{hasRA: true, retryAfter: ra})
		base := min(ra, maxRetryAfter)
		if d < base || d > base+time.Second {
			t.Errorf("Retry-After %v: waited %v", ra, d)
		}
	}
}

type codedError struct{ code int }

func (e *codedError) Error() string { return fmt.Sprint("code ", e.code) }

func TestErrorInfoOf(t *testing.T) {
	pathErr := &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}
	for _, tc := range []struct {
		err  error
		typ  string
		msg  string
		stak string
	}{
		{errors.New("plain"), "*errors.errorString", "plain", "st"},
		{fmt.Errorf("ctx: %w", pathErr), "*fs.PathError", "ctx: open /x: file does not exist", "st"},
		{fmt.Errorf("a: %w", fmt.Errorf("b: %w", &codedError{7})), "*agentlog.codedError", "a: b: code 7", "st"},
		{errors.Join(errors.New("x"), errors.New("y")), "*errors.joinError", "x\ny", "st"},
		{&ErrorInfo{Type: "T", Message: "m"}, "T", "m", "st"},
		{fmt.Errorf("wrapped: %w", &ErrorInfo{Type: "T", Stack: "own"}), "T", "wrapped: ", "own"},
	} {
		got := errorInfoOf(tc.err, "st")
		if got.Type != tc.typ || got.Message != tc.msg || got.Stack != tc.stak {
			t.Errorf("errorInfoOf(%v) = %+v, want type %q message %q stack %q", tc.err, got, tc.typ, tc.msg, tc.stak)
		}
	}
}

func TestPayloadsAreMadeAcceptable(t *testing.T) {
	var warned []string
	warn := func(key, _ string) { warned = append(warned, key) }
	deep := strings.Repeat("[", 300) + strings.Repeat("]", 300)
	for _, tc := range []struct {
		name string
		in   any
		want string // exact JSON, or "" to only check acceptability
		warn string
	}{
		{"nil", nil, "", ""},
		{"string", "a<b>", `"a<b>"`, ""},
		{"map sorted no html escaping", map[string]any{"b": 1, "a": "<&>"}, `{"a":"<&>","b":1}`, ""},
		{"raw compacted", json.RawMessage(" [1, {\"a\" : 2}] "), `[1,{"a":2}]`, ""},
		{"raw invalid", json.RawMessage(`{"a":`), `"{\"a\":"`, "invalid:f"},
		{"raw lone surrogate", json.RawMessage(`["\udc00x"]`), "[\"\uFFFDx\"]", ""},
		{"raw good pair kept", json.RawMessage(`"\ud83d\ude00"`), `"😀"`, ""},
		{"raw invalid utf-8", json.RawMessage("[\"\xff\"]"), "[\"\uFFFD\"]", ""},
		{"raw big numbers kept", json.RawMessage(`[1e400,123456789012345678901234567890]`), `[1e400,123456789012345678901234567890]`, ""},
		{"raw too deep", json.RawMessage(deep), "", "depth:f"},
		{"NaN", math.NaN(), "", "unserializable:f"},
		{"func", func() {}, "", "unserializable:f"},
		{"too large", strings.Repeat("x", maxPayloadBytes+1), "", "truncated:f"},
		{"too large object", []string{strings.Repeat("y", maxPayloadBytes)}, "", "truncated:f"},
		{"panicking marshaler", panicky{}, "", "unserializable:f"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			warned = nil
			got := encodePayload(tc.in, "f", warn)
			if tc.in == nil {
				if got != nil {
					t.Fatalf("nil encoded as %s", got)
				}
				return
			}
			if !json.Valid(got) || !utf8.Valid(got) || len(got) > maxPayloadBytes || hasLoneSurrogate(got) {
				t.Fatalf("unacceptable payload (%d bytes): %.200s", len(got), got)
			}
			if d, _ := scanJSON(got); d > maxPayloadDepth {
				t.Fatalf("depth %d", d)
			}
			if tc.want != "" && string(got) != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
			if (tc.warn == "") != (len(warned) == 0) || (tc.warn != "" && warned[0] != tc.warn) {
				t.Errorf("warnings %v, want %q", warned, tc.warn)
			}
		})
	}
}

type panicky struct{}

func (panicky) MarshalJSON() ([]byte, error) { panic("boom") }

// hasLoneSurrogate reports a \uD800-\uDFFF escape not forming a pair.
func hasLoneSurrogate(b []byte) bool {
	s := string(b)
	for i := 0; i+6 <= len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		if s[i+1] != 'u' {
			i++
			continue
		}
		var v int
		if _, err := fmt.Sscanf(s[i+2:i+6], "%04x", &v); err != nil {
			return true
		}
		switch {
		case v >= 0xD800 && v < 0xDC00:
			if i+12 > len(s) || s[i+6:i+8] != `\u` {
				return true
			}
			var lo int
			if _, err := fmt.Sscanf(s[i+8:i+12], "%04x", &lo); err != nil || lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 11
		case v >= 0xDC00 && v <= 0xDFFF:
			return true
		default:
			i += 5
		}
	}
	return false
}

func TestClockIsMonotonicAndResyncs(t *testing.T) {
	c := newClock()
	prev := c.nowMicros()
	for i := 0; i < 100000; i++ {
		now := c.nowMicros()
		if now < prev {
			t.Fatalf("clock went back: %d < %d", now, prev)
		}
		prev = now
	}
	if d := time.Now().UnixMicro() - c.nowMicros(); d < -1000 || d > 1000 {
		t.Errorf("clock is %dµs off the wall clock", d)
	}
	// Pretend the wall clock was stepped an hour ahead after anchoring.
	c.anchor.Store(&clockAnchor{mono: time.Now(), wallUS: time.Now().Add(-time.Hour).UnixMicro()})
	c.resync()
	if d := time.Now().UnixMicro() - c.nowMicros(); d < -1000 || d > 1000 {
		t.Errorf("resync left the clock %dµs off", d)
	}
}

func TestAttributesLaterKeysWinAndSizeIsBounded(t *testing.T) {
	big := []byte(`"` + strings.Repeat("z", 600_000) + `"`)
	attrs := []attr{{"a", []byte("1")}, {"b", big}, {"a", []byte("2")}, {"c", big}, {"d", []byte("true")}}
	var warned []string
	b := appendAttrs(nil, attrs, func(k, _ string) { warned = append(warned, k) })
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "a,b,d" || m["a"] != 2.0 || len(b) > maxPayloadBytes || len(warned) != 1 {
		t.Errorf("attributes %v (%d bytes), warnings %v", keys, len(b), warned)
	}
}
