package agentlog

// The fallback encoder for values encoding/json refuses as a whole (a cycle, a NaN, a
// channel, a failing MarshalJSON somewhere inside): it walks the value with reflection
// and encodes it member by member, so that what can be encoded is kept and only the
// bad members are replaced by descriptions. Maps, slices, arrays, pointers,
// interfaces and structs (following encoding/json's field rules for names, "-",
// omitempty and embedded structs) are walked; everything else is handed to
// encoding/json one value at a time.

import (
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

type salvager struct {
	b       []byte
	path    map[uintptr]bool // maps, slices and pointers being encoded: seeing one again is a cycle
	problem string           // the first problem, for the warning
}

var (
	jsonMarshalerType = reflect.TypeOf((*json.Marshaler)(nil)).Elem()
	textMarshalerType = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
)

// salvage encodes v as well as it can. It never fails; problem describes the first
// value that had to be replaced ("" if none).
func salvage(v any) (data []byte, problem string) {
	s := &salvager{path: map[uintptr]bool{}}
	defer func() {
		if r := recover(); r != nil { // a bug here must not reach the caller
			data, _ = appendString(nil, fmt.Sprintf("[unserializable %T]", v), -1, previewBytes)
			problem = fmt.Sprint("panic while encoding: ", r)
		}
	}()
	s.value(reflect.ValueOf(v), 0)
	return s.b, s.problem
}

func (s *salvager) replace(desc string) {
	if s.problem == "" {
		s.problem = strings.Trim(desc, "[]")
	}
	s.b, _ = appendString(s.b, desc, -1, -1)
}

// one encodes x with encoding/json, or a description of why it cannot be.
func (s *salvager) one(x any) {
	data, err := marshal(x)
	if err != nil {
		s.replace(fmt.Sprintf("[unserializable %T: %v]", x, err))
		return
	}
	s.b = append(s.b, data...)
}

func (s *salvager) value(v reflect.Value, depth int) {
	if !v.IsValid() {
		s.b = append(s.b, "null"...)
		return
	}
	if depth > maxPayloadDepth {
		s.replace("[MaxDepth]")
		return
	}
	t := v.Type()
	if (t.Implements(jsonMarshalerType) || t.Implements(textMarshalerType)) && v.CanInterface() {
		if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
			s.b = append(s.b, "null"...)
			return
		}
		s.one(v.Interface())
		return
	}
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			s.b = append(s.b, "null"...)
			return
		}
		s.value(v.Elem(), depth)
	case reflect.Pointer:
		if v.IsNil() {
			s.b = append(s.b, "null"...)
			return
		}
		if !s.enter(v.Pointer()) {
			return
		}
		s.value(v.Elem(), depth+1)
		delete(s.path, v.Pointer())
	case reflect.Map:
		if v.IsNil() {
			s.b = append(s.b, "null"...)
			return
		}
		if !s.enter(v.Pointer()) {
			return
		}
		s.mapValue(v, depth)
		delete(s.path, v.Pointer())
	case reflect.Slice:
		if v.IsNil() {
			s.b = append(s.b, "null"...)
			return
		}
		if t.Elem().Kind() == reflect.Uint8 && !reflect.PointerTo(t.Elem()).Implements(jsonMarshalerType) {
			s.one(v.Interface()) // []byte: base64, as encoding/json does
			return
		}
		if v.Len() > 0 {
			if !s.enter(v.Pointer()) {
				return
			}
			defer delete(s.path, v.Pointer())
		}
		s.list(v, depth)
	case reflect.Array:
		s.list(v, depth)
	case reflect.Struct:
		s.b = append(s.b, '{')
		s.fields(v, depth, true)
		s.b = append(s.b, '}')
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		switch {
		case math.IsNaN(f):
			s.replace("NaN")
		case math.IsInf(f, 1):
			s.replace("+Inf")
		case math.IsInf(f, -1):
			s.replace("-Inf")
		default:
			s.one(v.Interface())
		}
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if !v.CanInterface() {
			s.b = append(s.b, "null"...)
			return
		}
		s.one(v.Interface())
	default: // chan, func, complex, unsafe.Pointer
		s.replace("[unserializable " + t.String() + "]")
	}
}

// enter marks p as being encoded; false (and "[Circular]" written) if it already is.
func (s *salvager) enter(p uintptr) bool {
	if s.path[p] {
		s.replace("[Circular]")
		return false
	}
	s.path[p] = true
	return true
}

func (s *salvager) list(v reflect.Value, depth int) {
	s.b = append(s.b, '[')
	for i := 0; i < v.Len(); i++ {
		if i > 0 {
			s.b = append(s.b, ',')
		}
		s.value(v.Index(i), depth+1)
		if len(s.b) > maxPayloadBytes { // checkJSON will cut it anyway
			s.b = append(s.b, `,"[truncated]"`...)
			break
		}
	}
	s.b = append(s.b, ']')
}

func (s *salvager) mapValue(v reflect.Value, depth int) {
	type entry struct {
		key string
		val reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	iter := v.MapRange()
	for iter.Next() {
		entries = append(entries, entry{mapKey(iter.Key()), iter.Value()})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].key < entries[j].key })
	s.b = append(s.b, '{')
	for i, e := range entries {
		if i > 0 {
			s.b = append(s.b, ',')
		}
		s.b, _ = appendString(s.b, e.key, -1, -1)
		s.b = append(s.b, ':')
		s.value(e.val, depth+1)
		if len(s.b) > maxPayloadBytes {
			break
		}
	}
	s.b = append(s.b, '}')
}

// mapKey is the object key of a map key, as encoding/json makes it.
func mapKey(k reflect.Value) string {
	if k.Kind() == reflect.String {
		return k.String()
	}
	if tm, ok := k.Interface().(encoding.TextMarshaler); ok {
		if k.Kind() == reflect.Pointer && k.IsNil() {
			return ""
		}
		if text, err := tm.MarshalText(); err == nil {
			return string(text)
		}
	}
	switch k.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10)
	}
	return fmt.Sprint(k.Interface())
}

// fields writes the members of struct v (without braces); first says whether no member
// was written yet. It returns whether one still was not.
func (s *salvager) fields(v reflect.Value, depth int, first bool) bool {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		fv := v.Field(i)
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
				if fv.IsNil() {
					continue
				}
				fv = fv.Elem()
			}
			if ft.Kind() == reflect.Struct {
				first = s.fields(fv, depth, first) // embedded: its fields are promoted
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if strings.Contains(","+opts+",", ",omitempty,") && isEmptyValue(fv) {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if !first {
			s.b = append(s.b, ',')
		}
		first = false
		s.b, _ = appendString(s.b, name, -1, -1)
		s.b = append(s.b, ':')
		s.value(fv, depth+1)
	}
	return first
}

// isEmptyValue is encoding/json's notion of empty for omitempty.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}
