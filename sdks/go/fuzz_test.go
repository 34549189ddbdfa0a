package agentlog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzEncodeEvent feeds arbitrary field values through the encoder (the same steps as
// Client.Log and Span.End) and checks that what comes out is an event the server
// accepts (server/src/ingest/json_decoder.cc): valid JSON in valid UTF-8 without lone
// surrogate escapes, required fields present, every string within its limit, enums,
// times, numbers and nesting as the server wants them. Unchanged values must
// round-trip exactly.
//
//	go test -run '^$' -fuzz FuzzEncodeEvent -fuzztime 10s
func FuzzEncodeEvent(f *testing.F) {
	f.Add("", "session-1", "", "llm", "chat", "planner", int64(1764064800123456), int64(1764064801000000), "ok",
		[]byte(`{"messages":[{"role":"user","content":"hi"}]}`), "hello", "boom", "gpt-4o", int64(10), int64(20), 0.0012, "temperature", "tag")
	f.Add("my-id", "s", "parent", "bogus", "na\xffme\x00", "", int64(0), int64(-1), "weird",
		[]byte(`"\ud800"`), "\xed\xa0\x80", "", "", int64(-5), int64(math.MaxInt64), math.NaN(), "", "")
	f.Add(strings.Repeat("i", 200), strings.Repeat("é", 100), "", "", strings.Repeat("\"", 1500), "", int64(math.MinInt64), int64(math.MaxInt64), "",
		[]byte(strings.Repeat("[", 600)+strings.Repeat("]", 600)), "\u2028\u2029", strings.Repeat("\\", 10), strings.Repeat("m", 300), int64(math.MaxInt64), int64(1), math.Inf(1), "k\"ey", strings.Repeat("t", 300))
	f.Add("", "s", "", "tool", "", "", int64(1), int64(0), "error", []byte(`[1e400, -0, 123456789012345678901234567890]`), "", "", "", int64(0), int64(0), -1.0, "", "")
	f.Fuzz(func(t *testing.T, id, session, parent, typ, name, agent string, started, ended int64, status string,
		input []byte, output, errMsg, model string, inTok, outTok int64, cost float64, attrKey, tag string) {
		warn := func(string, string) {}
		if session == "" {
			session = "s" // the API never leaves it empty
		}
		w := wireEvent{
			sessionID: session,
			typ:       EventType(typ),
			name:      name,
			agent:     agent,
			started:   started,
			ended:     ended,
			hasEnded:  ended != 0,
			status:    EventStatus(status),
			input:     encodePayload(json.RawMessage(input), "input", warn),
			output:    encodePayload(output, "output", warn),
			model:     model,
			usage:     Usage{InputTokens: inTok, OutputTokens: outTok},
			cost:      cost,
			tags:      []string{tag},
		}
		if id != "" {
			w.id = stringID(id)
		} else {
			w.id = uuidID(fuzzIDs.next(started / 1000))
		}
		if parent != "" {
			w.parentID = stringID(parent)
		}
		if errMsg != "" {
			w.err = errorInfoOf(fmt.Errorf("%s", errMsg), errMsg)
		}
		if attrKey != "" {
			w.attrs = []attr{{attrKey, encodePayload(output, "attributes", warn)}}
		}
		b := appendEvent(nil, &w, warn)
		ev := checkWireEvent(t, b)

		// What needed no fixing arrives unchanged.
		same := func(field, in string, limit int) {
			if utf8.ValidString(in) && len(in) <= limit && in != "" && ev[field] != in {
				t.Errorf("%s = %q, want %q", field, ev[field], in)
			}
		}
		same("id", id, maxIDBytes)
		same("session_id", session, maxIDBytes)
		same("parent_id", parent, maxIDBytes)
		same("name", name, maxNameBytes)
		same("agent", agent, maxAgentBytes)
		same("model", model, maxModelBytes)
		if validEventType(EventType(typ)) && ev["type"] != typ {
			t.Errorf("type = %v, want %q", ev["type"], typ)
		}
		if utf8.ValidString(output) && len(output) < maxPayloadBytes/6 && ev["output"] != output {
			t.Errorf("output = %q, want %q", ev["output"], output)
		}
		if started >= minTimeMicros && started <= maxTimeMicros {
			if want := time.UnixMicro(started).UTC().Format("2006-01-02T15:04:05.000000Z"); ev["started_at"] != want {
				t.Errorf("started_at = %v, want %s", ev["started_at"], want)
			}
		}
		if json.Valid(input) && utf8.Valid(input) && !bytes.Contains(input, []byte(`\u`)) && len(input) < 10_000 {
			if d, _ := scanJSON(input); d <= maxPayloadDepth {
				var a, b bytes.Buffer
				_ = json.Compact(&a, input)
				raw, _ := json.Marshal(ev["input"])
				_ = json.Compact(&b, raw)
				var x, y any
				_ = json.Unmarshal(a.Bytes(), &x)
				_ = json.Unmarshal(b.Bytes(), &y)
				if fmt.Sprint(x) != fmt.Sprint(y) {
					t.Errorf("input changed: %s -> %s", a.Bytes(), b.Bytes())
				}
			}
		}
	})
}

// checkWireEvent fails t unless b is an event the server accepts, and returns it decoded.
func checkWireEvent(t *testing.T, b []byte) map[string]any {
	t.Helper()
	if !utf8.Valid(b) || !json.Valid(b) {
		t.Fatalf("not valid JSON in UTF-8: %.300q", b)
	}
	if hasLoneSurrogate(b) {
		t.Fatalf("lone surrogate escape: %.300q", b)
	}
	// The server refuses documents deeper than 512; an event sits 2 levels down.
	if d, _ := scanJSON(b); d+2 > 512 {
		t.Fatalf("nested %d levels", d)
	}
	var ev map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&ev); err != nil {
		t.Fatal(err)
	}
	str := func(field string, max int, required bool) string {
		v, ok := ev[field]
		if !ok {
			if required {
				t.Fatalf("%s missing", field)
			}
			return ""
		}
		s, ok := v.(string)
		if !ok {
			t.Fatalf("%s is %T, want a string", field, v)
		}
		if len(s) > max || (required && s == "") {
			t.Fatalf("%s has %d bytes (limit %d)", field, len(s), max)
		}
		return s
	}
	str("id", maxIDBytes, true)
	str("session_id", maxIDBytes, true)
	str("parent_id", maxIDBytes, false)
	str("trace_id", maxIDBytes, false)
	str("span_id", maxIDBytes, false)
	str("name", maxNameBytes, false)
	str("agent", maxAgentBytes, false)
	str("model", maxModelBytes, false)
	str("provider", maxModelBytes, false)
	if typ := str("type", 32, true); !validEventType(EventType(typ)) {
		t.Fatalf("type %q", typ)
	}
	if st, ok := ev["status"]; ok && !validEventStatus(EventStatus(fmt.Sprint(st))) {
		t.Fatalf("status %v", st)
	}
	started, err := time.Parse(time.RFC3339Nano, str("started_at", 40, true))
	if err != nil || started.Year() < 1 || started.Year() > 9999 {
		t.Fatalf("started_at %v: %v", ev["started_at"], err)
	}
	if _, ok := ev["ended_at"]; ok {
		ended, err := time.Parse(time.RFC3339Nano, str("ended_at", 40, true))
		if err != nil || ended.Before(started) {
			t.Fatalf("ended_at %v (started %v): %v", ev["ended_at"], started, err)
		}
	}
	for _, field := range []string{"input", "output", "attributes"} {
		if v, ok := ev[field]; ok {
			raw, _ := json.Marshal(v)
			if len(raw) > 1<<20 {
				t.Fatalf("%s is %d bytes", field, len(raw))
			}
		}
	}
	if a, ok := ev["attributes"]; ok {
		if _, isObj := a.(map[string]any); !isObj {
			t.Fatalf("attributes is %T", a)
		}
	}
	if e, ok := ev["error"]; ok {
		m, isObj := e.(map[string]any)
		if !isObj {
			t.Fatalf("error is %T", e)
		}
		for k, v := range m {
			if s, isStr := v.(string); !isStr || len(s) > 1<<20 {
				t.Fatalf("error.%s = %T", k, v)
			}
		}
	}
	if u, ok := ev["usage"]; ok {
		m, isObj := u.(map[string]any)
		if !isObj {
			t.Fatalf("usage is %T", u)
		}
		var in, out int64
		hasTotal := false
		for k, v := range m {
			n, err := v.(json.Number).Int64()
			if err != nil || n < 0 {
				t.Fatalf("usage.%s = %v", k, v)
			}
			switch k {
			case "input_tokens":
				in = n
			case "output_tokens":
				out = n
			case "total_tokens":
				hasTotal = true
			}
		}
		if !hasTotal && in > math.MaxInt64-out {
			t.Fatal("the server would overflow computing total_tokens")
		}
	}
	if c, ok := ev["cost_usd"]; ok {
		f, err := c.(json.Number).Float64()
		if err != nil || f < 0 || math.IsInf(f, 0) {
			t.Fatalf("cost_usd = %v", c)
		}
	}
	if tags, ok := ev["tags"]; ok {
		list, isList := tags.([]any)
		if !isList || len(list) > maxTags {
			t.Fatalf("tags = %v", tags)
		}
		for _, tag := range list {
			if s, isStr := tag.(string); !isStr || len(s) > maxTagBytes {
				t.Fatalf("tag %v", tag)
			}
		}
	}
	return ev
}

var fuzzIDs = newIDGenerator()
