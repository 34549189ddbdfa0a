import { cleanup, fireEvent, render, screen } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import { extractChat } from "../lib/chat";
import { Chat } from "./Chat";
import { JsonView } from "./JsonView";
import { VirtualList } from "./VirtualList";

afterEach(cleanup);

describe("VirtualList", () => {
  it("renders only the rows in view of a 10,000-row list", () => {
    const { container } = render(
      <div style={{ height: "300px" }}>
        <VirtualList count={10000} rowHeight={30} renderRow={(i) => <span data-row={i}>row {i}</span>} />
      </div>,
    );
    const rows = container.querySelectorAll("[data-row]");
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(60);
    expect(container.querySelector(".vlist-spacer")!.getAttribute("style")).toContain("height: 300000px");
  });

  it("renders the rows around the scroll position after a scroll", async () => {
    const raf = vi.spyOn(window, "requestAnimationFrame").mockImplementation((cb) => {
      cb(0);
      return 1;
    });
    const { container } = render(<VirtualList count={10000} rowHeight={30} renderRow={(i) => <span data-row={i} />} />);
    const list = container.querySelector(".vlist") as HTMLDivElement;
    list.scrollTop = 30 * 5000;
    fireEvent.scroll(list);
    await Promise.resolve();
    const shown = [...container.querySelectorAll("[data-row]")].map((e) => Number(e.getAttribute("data-row")));
    expect(Math.min(...shown)).toBeLessThanOrEqual(5000);
    expect(Math.max(...shown)).toBeGreaterThanOrEqual(5000);
    expect(shown.length).toBeLessThan(60);
    raf.mockRestore();
  });

  it("asks for more near the end", () => {
    const more = vi.fn();
    render(<VirtualList count={5} rowHeight={30} renderRow={(i) => <span>{i}</span>} onNearEnd={more} />);
    expect(more).toHaveBeenCalled();
  });
});

describe("JsonView", () => {
  const doc = { messages: [{ role: "user", content: "Find flights to Lisbon" }], options: { temperature: 0.2, tools: ["search", "book"] } };

  it("starts folded below the open depth and opens on click", () => {
    render(<JsonView value={doc} openDepth={1} />);
    expect(screen.queryByText(/Lisbon/)).toBeNull();
    fireEvent.click(screen.getByText(/messages/));
    fireEvent.click(screen.getAllByText(/2 keys/)[0]!); // messages[0]; the other is "options"
    expect(screen.getByText(/Lisbon/)).toBeTruthy();
  });

  it("narrows to matches and their path when filtered", () => {
    const { container } = render(<JsonView value={doc} filter="lisbon" />);
    expect(container.textContent).toContain("Lisbon");
    expect(container.textContent).not.toContain("temperature");
    expect(container.querySelector("mark")!.textContent).toBe("Lisbon");
  });

  it("shows the whole subtree under a matching key, folded as usual", () => {
    const { container } = render(<JsonView value={doc} filter="options" openDepth={1} />);
    expect(container.textContent).toContain("temperature");
    expect(container.textContent).toContain("tools: [2 items]");
    expect(container.textContent).not.toContain("messages");
  });

  it("says so when nothing matches", () => {
    render(<JsonView value={doc} filter="zzz" />);
    expect(screen.getByText(/No match/)).toBeTruthy();
  });

  it("cuts long strings and long arrays", () => {
    const { container } = render(<JsonView value={{ s: "x".repeat(1000), a: Array.from({ length: 450 }, (_, i) => i) }} openDepth={2} />);
    expect(container.textContent).toContain("600 more");
    expect(container.textContent).toContain("show 200 more of 250");
  });
});

describe("Chat", () => {
  it("renders roles and puts each tool result under its call", () => {
    const messages = extractChat(
      {
        messages: [
          { role: "user", content: "Weather in Paris?" },
          { role: "assistant", content: null, tool_calls: [{ id: "call_1", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
          { role: "tool", tool_call_id: "call_1", content: "18 degrees" },
        ],
      },
      { choices: [{ message: { role: "assistant", content: "It is 18 °C." } }] },
    )!;
    const { container } = render(<Chat messages={messages} />);
    const roles = [...container.querySelectorAll(".msg")].map((m) => m.getAttribute("data-role"));
    // The tool message is shown inside the call, not as its own bubble.
    expect(roles).toEqual(["user", "assistant", "assistant"]);
    const call = container.querySelector("[data-tool-call='call_1']")!;
    expect(call.textContent).toContain("get_weather");
    expect(call.querySelector("[data-tool-result='call_1']")!.textContent).toContain("18 degrees");
  });

  it("marks a call that has no result", () => {
    const messages = extractChat(null, { role: "assistant", tool_calls: [{ id: "c9", function: { name: "f", arguments: "{}" } }] })!;
    const { container } = render(<Chat messages={messages} />);
    expect(container.textContent).toContain("no result in this call");
  });
});
