// Package agentlog records what AI agents do — sessions, nested spans (agent steps,
// LLM calls, tool calls) and events — and delivers it to an AgentLog server.
//
// It uses only the standard library. Recording never blocks on the network and never
// fails: events go into a bounded in-memory queue, and a background goroutine sends them
// in batches to POST /v1/ingest, gzip-compressed when large, retrying network errors,
// 408, 429 and 5xx answers with exponential backoff and jitter (honouring Retry-After).
// Ids are made by the client (UUIDv7), so a retried batch never duplicates events.
// When the queue is full the oldest items are dropped and counted (see [Client.Stats]);
// problems are reported through Config.OnError.
//
// # Sessions, spans and context
//
// A session is one run of an agent. Spans and events follow [context.Context]: a span
// started with a context that carries another span becomes its child, and everything
// recorded with a context from [Client.StartSession] belongs to that session.
//
//	client, err := agentlog.New(agentlog.Config{}) // AGENTLOG_URL, AGENTLOG_API_KEY
//	if err != nil {
//		log.Print(err) // client is nil: recording does nothing
//	}
//	defer client.Close(context.Background())
//
//	ctx, session := client.StartSession(context.Background(), agentlog.Session{Name: "ticket 42", Agent: "support"})
//	defer session.End(agentlog.StatusSuccess)
//
//	ctx, sp := client.StartSpan(ctx, agentlog.TypeLLM, "chat")
//	sp.SetModel("gpt-4o", "openai")
//	sp.SetInput(messages)
//	reply, err := callModel(ctx, messages) // spans started here nest under "chat"
//	sp.RecordError(err)
//	sp.SetOutput(reply)
//	sp.SetUsage(agentlog.Usage{InputTokens: 812, OutputTokens: 64})
//	sp.End()
//
// Spans and events recorded outside any session go to an implicit session of the
// client, ended by Close.
//
// # Delivery
//
// [Client.Flush] waits until what was recorded has been delivered; [Client.Close]
// flushes and stops the client. Go has no exit hook: call Close (with a deadline)
// before the program exits, or recent events are lost.
//
// The wire format is the JSON of the AgentLog HTTP API (docs/api.md in the AgentLog
// repository): snake_case fields such as session_id, parent_id, started_at, cost_usd
// and usage.input_tokens, and RFC 3339 times with microseconds.
package agentlog
