package agentlog

// Payloads (input, output, attribute values, metadata): any Go value as JSON the server
// accepts. encoding/json does the marshaling; what it lets through that the server
// refuses is fixed afterwards: invalid UTF-8 and lone UTF-16 surrogate escapes from
// json.RawMessage or a MarshalJSON method, nesting deeper than the server allows, and
// values over the size limit.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"unicode/utf8"
)

// previewBytes is how much of an oversized value is kept, as a string.
const previewBytes = 64 << 10

type jsonEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var jsonEncoders = sync.Pool{New: func() any {
	e := &jsonEncoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}}

// encodePayload returns v as JSON, or nil when v is nil. It never fails: a value that
// cannot be marshaled is recorded as a string saying why. field names the value in
// warnings.
func encodePayload(v any, field string, warn warnFunc) []byte {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		b, cut := appendString(make([]byte, 0, len(x)+2), x, -1, maxPayloadBytes)
		if cut {
			warn("truncated:"+field, field+" was larger than ~1 MB and was truncated")
		}
		return b
	case json.RawMessage:
		if x == nil {
			return nil
		}
		var out bytes.Buffer
		if err := json.Compact(&out, x); err != nil {
			warn("invalid:"+field, field+" was a json.RawMessage that is not valid JSON; sent as a string")
			b, _ := appendString(nil, string(x), -1, previewBytes)
			return b
		}
		return checkJSON(out.Bytes(), field, warn)
	}
	data, err := marshal(v)
	if err != nil {
		// Encode what can be encoded: one bad member costs only itself.
		var problem string
		data, problem = salvage(v)
		if problem == "" {
			problem = err.Error()
		}
		warn("unserializable:"+field, field+" had values that cannot be encoded as JSON ("+problem+
			"); they were replaced by descriptions such as \"[Circular]\"")
	}
	return checkJSON(data, field, warn)
}

// marshal is json.Marshal without HTML escaping, recovering from a panicking
// MarshalJSON (the caller's code must not take the agent down through us).
func marshal(v any) (data []byte, err error) {
	e := jsonEncoders.Get().(*jsonEncoder)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic while marshaling: %v", r)
			e = &jsonEncoder{} // the pooled one may be in a broken state; drop it
		}
		if e.buf.Cap() <= 64<<10 && e.enc != nil {
			e.buf.Reset()
			jsonEncoders.Put(e)
		}
	}()
	if err := e.enc.Encode(v); err != nil {
		return nil, err
	}
	out := bytes.TrimSuffix(e.buf.Bytes(), []byte{'\n'})
	return append(make([]byte, 0, len(out)), out...), nil
}

// checkJSON makes valid JSON acceptable to the server: sanitized, not too deep, not too
// large. data may be modified or returned.
func checkJSON(data []byte, field string, warn warnFunc) []byte {
	depth, suspect := scanJSON(data)
	if suspect || !utf8.Valid(data) {
		// Decoding replaces invalid UTF-8 and lone surrogates with U+FFFD; numbers stay exact.
		var v any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&v); err == nil {
			if clean, err := marshal(v); err == nil {
				data = clean
			}
		}
		if !utf8.Valid(data) {
			b, _ := appendString(nil, string(data), -1, previewBytes)
			data = b
		}
	}
	if depth > maxPayloadDepth {
		warn("depth:"+field, field+" was nested deeper than "+strconv.Itoa(maxPayloadDepth)+" levels; sent as a truncated string")
		b, _ := appendString(nil, string(data), -1, previewBytes)
		return b
	}
	if len(data) > maxPayloadBytes {
		warn("truncated:"+field, field+" was larger than ~1 MB; its first 64 KiB were sent as a string")
		b, _ := appendString(nil, string(data[:previewBytes]), -1, previewBytes*6)
		return b
	}
	return data
}

// scanJSON walks valid JSON text and returns its nesting depth, and whether it holds a
// \u escape of a UTF-16 surrogate (which must be checked for a lone half).
func scanJSON(data []byte) (depth int, suspect bool) {
	d := 0
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch c {
			case '\\':
				if i+2 < len(data) && data[i+1] == 'u' && (data[i+2] == 'd' || data[i+2] == 'D') &&
					i+3 < len(data) && isSurrogateNibble(data[i+3]) {
					suspect = true
				}
				i++ // skip the escaped character
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			d++
			if d > depth {
				depth = d
			}
		case '}', ']':
			d--
		}
	}
	return depth, suspect
}

func isSurrogateNibble(c byte) bool {
	return (c >= '8' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// encodeObject returns m as a JSON object (keys sorted), or nil for a nil map.
func encodeObject(m map[string]any, field string, warn warnFunc) []byte {
	if m == nil {
		return nil
	}
	data := encodePayload(m, field, warn)
	if len(data) == 0 || data[0] != '{' {
		// Too large or unserializable: keep what was said about it under one key.
		out := append([]byte(`{"agentlog_error":`), data...)
		return append(out, '}')
	}
	return data
}
