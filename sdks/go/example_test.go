package agentlog_test

// These examples run against a fake server that TestMain points AGENTLOG_URL and
// AGENTLOG_API_KEY at; with a real server they work unchanged.

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"time"

	agentlog "github.com/agentlog/agentlog/sdks/go"
)

// A session with nested spans: an agent step, the LLM call inside it, and a tool call
// inside that.
func Example() {
	client, err := agentlog.New(agentlog.Config{Agent: "support-bot"}) // AGENTLOG_URL, AGENTLOG_API_KEY
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(context.Background())

	ctx, session := client.StartSession(context.Background(), agentlog.Session{
		Name:   "refund request",
		UserID: "user-42",
		Tags:   []string{"prod"},
	})

	ctx, step := client.StartSpan(ctx, agentlog.TypeAgent, "handle ticket")
	llmCtx, llm := client.StartSpan(ctx, agentlog.TypeLLM, "plan")
	llm.SetModel("gpt-4o", "openai")
	llm.SetInput([]map[string]string{{"role": "user", "content": "Where is my refund?"}})

	_, tool := client.StartSpan(llmCtx, agentlog.TypeTool, "lookup_order") // a child of "plan"
	tool.SetInput(map[string]string{"order": "A-1"})
	tool.SetOutput(map[string]string{"status": "refunded"})
	tool.End()

	llm.SetOutput("Your refund was sent yesterday.")
	llm.SetUsage(agentlog.Usage{InputTokens: 812, OutputTokens: 64})
	llm.SetCost(0.0021)
	llm.End()
	step.End()
	session.End(agentlog.StatusSuccess)

	if err := client.Flush(context.Background()); err != nil {
		log.Print(err)
	}
	s := client.Stats()
	fmt.Printf("sent %d items (1 session start, 3 spans, 1 session end), dropped %d\n", s.Sent, s.Dropped)
	// Output: sent 5 items (1 session start, 3 spans, 1 session end), dropped 0
}

// Spans follow context.Context, also across goroutines: each worker's span is a child
// of the span in the context it was given.
func ExampleClient_StartSpan() {
	client, err := agentlog.New(agentlog.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(context.Background())

	ctx, session := client.StartSession(context.Background(), agentlog.Session{Name: "research"})
	defer session.End(agentlog.StatusSuccess)
	ctx, parent := client.StartSpan(ctx, agentlog.TypeStep, "fan out")

	var wg sync.WaitGroup
	for _, query := range []string{"go", "rust", "zig"} {
		wg.Add(1)
		go func(query string) {
			defer wg.Done()
			_, sp := client.StartSpan(ctx, agentlog.TypeRetrieval, "search")
			defer sp.End()
			sp.SetInput(query)
			sp.SetOutput([]string{query + ".dev"})
		}(query)
	}
	wg.Wait()
	parent.End()

	fmt.Println(agentlog.SpanFromContext(ctx) == parent)
	// Output: true
}

// RecordError marks a span as failed, with the error's type, message and stack.
func ExampleSpan_RecordError() {
	client, err := agentlog.New(agentlog.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(context.Background())

	callTool := func(ctx context.Context) (err error) {
		_, sp := client.StartSpan(ctx, agentlog.TypeTool, "fetch_weather")
		defer func() {
			sp.RecordError(err) // nil: nothing recorded
			sp.End()
		}()
		return errors.New("weather service: 503")
	}
	fmt.Println(callTool(context.Background()))
	// Output: weather service: 503
}

// Log records a single event: here a chat message inside the current span.
func ExampleClient_Log() {
	client, err := agentlog.New(agentlog.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(context.Background())

	ctx, session := client.StartSession(context.Background(), agentlog.Session{ID: "chat-7"})
	defer session.End(agentlog.StatusSuccess)
	client.Log(ctx, agentlog.Event{
		Type:   agentlog.TypeMessage,
		Name:   "assistant",
		Output: "Hello! How can I help?",
	})
	client.Log(ctx, agentlog.Event{
		Type:      agentlog.TypeLLM,
		Name:      "chat",
		Model:     "claude-sonnet",
		StartedAt: time.Now().Add(-800 * time.Millisecond), // a call that already happened
		EndedAt:   time.Now(),
		Usage:     agentlog.Usage{InputTokens: 50, OutputTokens: 12},
	})
	fmt.Println(session.ID())
	// Output: chat-7
}

// Flush before a short-lived program exits; Close also stops the client.
func ExampleClient_Close() {
	client, err := agentlog.New(agentlog.Config{})
	if err != nil {
		log.Fatal(err)
	}
	client.Log(context.Background(), agentlog.Event{Name: "job finished"})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Close(ctx); err != nil {
		log.Printf("agentlog: %v", err) // not everything was delivered in time
	}
	fmt.Println("failed:", client.Stats().Failed)
	// Output: failed: 0
}

// OnError hears about problems instead of the recording calls returning them.
func ExampleConfig_onError() {
	client, err := agentlog.New(agentlog.Config{
		OnError: func(err error) {
			var e *agentlog.Error
			if errors.As(err, &e) {
				fmt.Println(e.Code)
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(context.Background())
	client.Log(context.Background(), agentlog.Event{Type: "not-a-type"}) // sent as "custom"
	_ = client.Flush(context.Background())
	// Output: invalid_value
}
