// What a new user sees before the first event: how to send one, with snippets to copy.
import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { CopyButton } from "./CopyButton";

export function snippets(origin: string): Record<"curl" | "python" | "typescript" | "go", string> {
  const curl = `curl -X POST ${origin}/v1/ingest \\
  -H "Authorization: Bearer $AGENTLOG_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{"events":[{"session_id":"hello-1","agent":"my-agent","type":"llm","name":"chat",
        "model":"gpt-4o","provider":"openai",
        "input":{"messages":[{"role":"user","content":"Hi!"}]},
        "output":{"role":"assistant","content":"Hello! How can I help?"},
        "usage":{"input_tokens":3,"output_tokens":7}}]}'`;
  const python = `# pip install ./sdks/python        (from a checkout of the AgentLog repository)
# export AGENTLOG_URL=${origin} AGENTLOG_API_KEY=al_...
import agentlog

agentlog.init()  # reads AGENTLOG_URL and AGENTLOG_API_KEY


@agentlog.trace(type="llm", name="chat")
def call_model(prompt: str) -> str:
    return "Hello! How can I help?"


with agentlog.session(name="first session", agent="my-agent"):
    call_model("Hi!")`;
  const typescript = `// npm install @agentlog/sdk      (or ./sdks/typescript from a checkout)
// AGENTLOG_URL=${origin} AGENTLOG_API_KEY=al_... node first.mjs
import { AgentLog } from "@agentlog/sdk";

const client = new AgentLog({ agent: "my-agent" });
const session = client.session({ name: "first session" });
await session.span("llm", "chat", async () => "Hello! How can I help?", {
  model: "gpt-4o", provider: "openai", input: [{ role: "user", content: "Hi!" }],
});
session.end({ status: "success" });
await client.shutdown();`;
  const go = `// go mod edit -replace github.com/agentlog/agentlog/sdks/go=../agentlog/sdks/go
// AGENTLOG_URL=${origin} AGENTLOG_API_KEY=al_... go run .
client, err := agentlog.New(agentlog.Config{Agent: "my-agent"})
if err != nil {
	log.Fatal(err)
}
defer client.Close(context.Background())

ctx, session := client.StartSession(context.Background(), agentlog.Session{Name: "first session"})
defer session.End(agentlog.StatusSuccess)

_, llm := client.StartSpan(ctx, agentlog.TypeLLM, "chat")
llm.SetModel("gpt-4o", "openai")
llm.SetInput([]map[string]string{{"role": "user", "content": "Hi!"}})
llm.SetOutput("Hello! How can I help?")
llm.End()`;
  return { curl, python, typescript, go };
}

const TABS = ["curl", "python", "typescript", "go"] as const;

export function GetStarted({ what = "sessions" }: { what?: string }): JSX.Element {
  const [tab, setTab] = useState<(typeof TABS)[number]>("curl");
  const code = snippets(window.location.origin)[tab];
  return (
    <div class="get-started" data-testid="get-started">
      <h2>No {what} yet</h2>
      <p>
        Send your first event and it shows up here live. You need an API key:{" "}
        <code>agentlog keys create --name my-agent</code> prints one (<code>make run</code> prints one too).
      </p>
      <div class="tabs" role="tablist">
        {TABS.map((t) => (
          <button key={t} role="tab" aria-selected={t === tab} class={t === tab ? "active" : ""} onClick={() => setTab(t)}>
            {t === "typescript" ? "TypeScript" : t === "python" ? "Python" : t === "go" ? "Go" : "curl"}
          </button>
        ))}
      </div>
      <div class="snippet">
        <CopyButton text={code} />
        <pre>
          <code>{code}</code>
        </pre>
      </div>
      <p class="dim">
        More in the SDK guides: <code>sdks/python/README.md</code>, <code>sdks/typescript/README.md</code>,{" "}
        <code>sdks/go/README.md</code>, and the API reference in <code>docs/api.md</code>.
      </p>
    </div>
  );
}
