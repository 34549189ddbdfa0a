// A button that copies text and says so for a moment.
import type { JSX } from "preact";
import { useState } from "preact/hooks";

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Clipboard API refused (http on a non-localhost origin): the old way.
    const ta = document.createElement("textarea");
    ta.value = text;
    ta.style.position = "fixed";
    ta.style.opacity = "0";
    document.body.appendChild(ta);
    ta.select();
    const ok = document.execCommand("copy");
    ta.remove();
    return ok;
  }
}

export function CopyButton({ text, label = "Copy", title }: { text: string | (() => string); label?: string; title?: string }): JSX.Element {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      class="copy"
      title={title ?? "Copy to clipboard"}
      onClick={async (e) => {
        e.stopPropagation();
        if (await copyText(typeof text === "function" ? text() : text)) {
          setDone(true);
          setTimeout(() => setDone(false), 1200);
        }
      }}
    >
      {done ? "Copied" : label}
    </button>
  );
}
