// Command benchjson turns `go test -bench` output (on stdin) into the JSON that
// bench.sh prints: per benchmark the median of every metric over the runs (ns/op,
// B/op, allocs/op, events/s, ...), the runs themselves, and whether the SDK hot path
// meets its budget (DESIGN.md §10: recording one span in ≤ 5 µs and ≤ 10 allocations).
//
//	go test -run '^$' -bench . -benchmem -count 5 | go run ./internal/benchjson
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

const (
	hotPath         = "Span"
	budgetNsPerOp   = 5000
	budgetAllocsOp  = 10
	resultsVersion  = 1
	unitNsPerOp     = "ns/op"
	unitAllocsPerOp = "allocs/op"
)

type benchmark struct {
	Name    string               `json:"name"`
	Procs   int                  `json:"gomaxprocs"`
	Runs    int                  `json:"runs"`
	Iters   []int64              `json:"iterations"`
	Median  map[string]float64   `json:"median"`
	Samples map[string][]float64 `json:"samples"`
}

type output struct {
	Version    int               `json:"version"`
	Suite      string            `json:"suite"`
	Go         string            `json:"go"`
	Context    map[string]string `json:"context"`
	Benchmarks []*benchmark      `json:"benchmarks"`
	Budget     map[string]any    `json:"budget"`
}

func main() {
	out := output{Version: resultsVersion, Suite: "agentlog-go", Go: runtime.Version(), Context: map[string]string{}}
	byName := map[string]*benchmark{}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		for _, key := range []string{"goos", "goarch", "pkg", "cpu"} {
			if v, ok := strings.CutPrefix(line, key+": "); ok {
				out.Context[key] = v
			}
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		iters, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		name, procs := strings.TrimPrefix(f[0], "Benchmark"), 1
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if p, err := strconv.Atoi(name[i+1:]); err == nil {
				name, procs = name[:i], p
			}
		}
		b := byName[name]
		if b == nil {
			b = &benchmark{Name: name, Procs: procs, Samples: map[string][]float64{}, Median: map[string]float64{}}
			byName[name] = b
			out.Benchmarks = append(out.Benchmarks, b)
		}
		b.Runs++
		b.Iters = append(b.Iters, iters)
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			b.Samples[f[i+1]] = append(b.Samples[f[i+1]], v)
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "benchjson:", err)
		os.Exit(1)
	}
	for _, b := range out.Benchmarks {
		for unit, vs := range b.Samples {
			b.Median[unit] = median(vs)
		}
	}
	out.Budget = map[string]any{"benchmark": hotPath, "max_ns_per_op": budgetNsPerOp, "max_allocs_per_op": budgetAllocsOp}
	if b := byName[hotPath]; b != nil {
		ns, allocs := b.Median[unitNsPerOp], b.Median[unitAllocsPerOp]
		out.Budget["ns_per_op"] = ns
		out.Budget["allocs_per_op"] = allocs
		out.Budget["met"] = ns <= budgetNsPerOp && allocs <= budgetAllocsOp
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "benchjson:", err)
		os.Exit(1)
	}
}

func median(vs []float64) float64 {
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
