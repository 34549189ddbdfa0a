// Small shared pieces: badges, an error banner, a confirmation dialog.
import type { ComponentChildren, JSX } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { ApiError } from "../api/client";

export function StatusBadge({ status }: { status: string }): JSX.Element {
  return <span class={`badge status-${status}`}>{status}</span>;
}

export function TypeBadge({ type }: { type: string }): JSX.Element {
  return <span class={`badge type type-${type}`}>{type}</span>;
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 403 && e.slug === "forbidden") return "Your role does not allow this.";
    return e.message;
  }
  if (e instanceof Error) return e.message === "Failed to fetch" ? "The server cannot be reached." : e.message;
  return String(e);
}

export function ErrorBanner({ error, onRetry }: { error: unknown; onRetry?: () => void }): JSX.Element {
  return (
    <div class="banner error" role="alert">
      {errorText(error)}
      {onRetry && (
        <button class="link" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function Modal(props: { title: string; children: ComponentChildren; onClose: () => void }): JSX.Element {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    ref.current?.querySelector<HTMLElement>("[data-autofocus]")?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        props.onClose();
      }
    };
    document.addEventListener("keydown", onKey, true);
    return () => {
      document.removeEventListener("keydown", onKey, true);
      prev?.focus();
    };
  }, []);
  return (
    <div class="modal-backdrop" onClick={props.onClose}>
      <div ref={ref} class="modal" role="dialog" aria-modal="true" aria-label={props.title} onClick={(e) => e.stopPropagation()}>
        <h3>{props.title}</h3>
        {props.children}
      </div>
    </div>
  );
}

export function Spinner({ label = "Loading…" }: { label?: string }): JSX.Element {
  return (
    <div class="spinner" role="status">
      {label}
    </div>
  );
}
