package agentlog

import (
	"context"
	"testing"
	"time"
)

// A span that sets the same attribute in a loop must not grow without bound.
func TestSetAttributeReplacesInPlace(t *testing.T) {
	c, err := New(Config{URL: "http://127.0.0.1:1", APIKey: "k", FlushInterval: time.Hour, MaxRetries: -1, OnError: func(error) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_ = c.Close(ctx)
	}()
	_, sp := c.StartSpan(context.Background(), TypeTool, "t")
	for i := 0; i < 1000; i++ {
		sp.SetAttribute("step", i)
	}
	sp.SetAttribute("other", true)
	sp.mu.Lock()
	n, last := len(sp.attrs), string(sp.attrs[0].json)
	sp.mu.Unlock()
	if n != 2 || last != "999" {
		t.Errorf("%d attributes kept, step = %s", n, last)
	}
	sp.End()
}
