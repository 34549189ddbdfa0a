// The signed-in user: cookie session from POST /v1/auth/login, checked with /v1/auth/me.
import { api, ApiError, setCsrfToken, setUnauthorizedHandler } from "../api/client";
import type { Me, Role } from "../api/types";
import { createStore } from "./store";

export type AuthState = { status: "loading" } | { status: "out"; expired?: boolean } | { status: "in"; me: Me };

export const auth = createStore<AuthState>({ status: "loading" });

function signedIn(me: Me): void {
  // /v1/auth/me also answers API-key callers, with no user: the dashboard needs a log-in.
  if (!me.user) return signedOut();
  setCsrfToken(me.csrf_token);
  auth.set({ status: "in", me });
}

function signedOut(expired = false): void {
  setCsrfToken("");
  auth.set(expired ? { status: "out", expired } : { status: "out" });
}

// Any request answering 401 means the cookie is gone: back to the log-in page.
setUnauthorizedHandler(() => {
  if (auth.get().status === "in") signedOut(true);
});

export async function loadMe(): Promise<void> {
  try {
    signedIn(await api<Me>("/v1/auth/me", { allow401: true }));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) signedOut();
    else throw e;
  }
}

export async function login(email: string, password: string): Promise<void> {
  signedIn(await api<Me>("/v1/auth/login", { method: "POST", body: { email, password }, allow401: true }));
}

export async function logout(): Promise<void> {
  try {
    await api<void>("/v1/auth/logout", { method: "POST", allow401: true });
  } finally {
    signedOut();
  }
}

/** Viewers read; members and admins may also change data (delete a session). */
export function canWrite(role: Role): boolean {
  return role === "admin" || role === "member";
}
