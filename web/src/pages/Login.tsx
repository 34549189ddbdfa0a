import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { ApiError } from "../api/client";
import { login } from "../lib/auth";
import { currentLocation } from "../lib/router";

export function loginErrorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 401) return "Wrong email or password.";
    if (e.status === 429) return `Too many attempts. Try again in ${e.retryAfter ?? 60} s.`;
    return e.message;
  }
  return "The server cannot be reached.";
}

export function LoginPage(): JSX.Element {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const expired = currentLocation().query.get("expired") === "1";

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      await login(email.trim(), password);
      // App moves on to ?next= once the auth state changes.
    } catch (err) {
      setError(loginErrorText(err));
      setBusy(false);
    }
  };

  return (
    <div class="login">
      <form class="login-card" onSubmit={submit}>
        <h1>
          <span class="logo">◆</span> AgentLog
        </h1>
        {expired && !error && <div class="banner">Your session ended. Please log in again.</div>}
        <label>
          Email
          <input name="email" type="email" autocomplete="username" required autofocus value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        {error && (
          <div class="banner error" role="alert">
            {error}
          </div>
        )}
        <button class="primary" type="submit" disabled={busy}>
          {busy ? "Logging in…" : "Log in"}
        </button>
        <p class="dim small">
          Accounts are made with <code>agentlog users create --email … --role admin|member|viewer</code>.
          <br />
          <code>make run</code> prints the demo user's credentials.
        </p>
      </form>
    </div>
  );
}
