// Dark and light themes. CSS follows prefers-color-scheme until the user picks one, which
// is remembered in localStorage and set as <html data-theme>.
import { createStore } from "./store";

export type Theme = "dark" | "light";
const KEY = "agentlog.theme";

function stored(): Theme | null {
  try {
    const v = localStorage.getItem(KEY);
    return v === "dark" || v === "light" ? v : null;
  } catch {
    return null;
  }
}

function system(): Theme {
  return typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: light)").matches ? "light" : "dark";
}

export const theme = createStore<Theme>(stored() ?? system());

export function applyStoredTheme(): void {
  const t = stored();
  if (t) document.documentElement.dataset.theme = t;
}

export function setTheme(t: Theme): void {
  try {
    localStorage.setItem(KEY, t);
  } catch {
    // Private mode: the choice lasts for this page only.
  }
  document.documentElement.dataset.theme = t;
  theme.set(t);
}
