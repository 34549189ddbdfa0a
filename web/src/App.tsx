// The shell: who is signed in, the header, and which page the URL names.
import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { auth, canWrite, loadMe, logout } from "./lib/auth";
import { focusSearch, useKeys } from "./lib/keys";
import { currentLocation, matchPath, navigate, onLinkClick, useLocation } from "./lib/router";
import { useStore } from "./lib/store";
import { setTheme, theme } from "./lib/theme";
import { ErrorBanner, Modal, Spinner } from "./components/bits";
import { LoginPage } from "./pages/Login";
import { SessionsPage } from "./pages/Sessions";
import { SessionPage } from "./pages/Session";
import { EventsPage } from "./pages/Events";
import { AgentsPage } from "./pages/Agents";

export function App(): JSX.Element {
  const loc = useLocation();
  const state = useStore(auth);
  const [bootError, setBootError] = useState<unknown>(null);

  useEffect(() => {
    loadMe().catch(setBootError);
  }, []);

  // Signed out (or the cookie expired): to the log-in page, remembering where we were.
  useEffect(() => {
    if (state.status === "out" && loc.path !== "/login") {
      const here = loc.path + (loc.query.toString() ? `?${loc.query}` : "");
      navigate(`/login?next=${encodeURIComponent(here)}${state.expired ? "&expired=1" : ""}`, { replace: true });
    } else if (state.status === "in" && (loc.path === "/login" || loc.path === "/")) {
      const next = loc.path === "/login" ? currentLocation().query.get("next") : null;
      navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/sessions", { replace: true });
    }
  }, [state.status, loc.path]);

  if (bootError) return <ErrorBanner error={bootError} onRetry={() => location.reload()} />;
  if (state.status === "loading") return <Spinner />;
  if (state.status === "out") return loc.path === "/login" ? <LoginPage /> : <Spinner />;
  return (
    <div class="shell">
      <Header email={state.me.user.email} role={state.me.user.role} path={loc.path} />
      <main class="page">
        <Page path={loc.path} canWrite={canWrite(state.me.user.role)} />
      </main>
    </div>
  );
}

function Page({ path, canWrite }: { path: string; canWrite: boolean }): JSX.Element {
  if (path === "/sessions") return <SessionsPage />;
  const s = matchPath("/sessions/:id", path);
  if (s) return <SessionPage key={s.id} id={s.id!} canWrite={canWrite} />;
  if (path === "/events") return <EventsPage />;
  if (path === "/agents") return <AgentsPage />;
  if (path === "/login" || path === "/") return <Spinner />;
  return (
    <div class="empty">
      <h2>Not found</h2>
      <p>
        Nothing lives at <code>{path}</code>. <a href="/sessions" onClick={(e) => onLinkClick(e, "/sessions")}>Go to sessions</a>.
      </p>
    </div>
  );
}

const NAV = [
  ["/sessions", "Sessions"],
  ["/events", "Events"],
  ["/agents", "Agents"],
] as const;

function Header({ email, role, path }: { email: string; role: string; path: string }): JSX.Element {
  const t = useStore(theme);
  const [help, setHelp] = useState(false);
  useKeys({ "/": focusSearch, "?": () => setHelp(true) });
  return (
    <header class="header">
      <a class="brand" href="/sessions" onClick={(e) => onLinkClick(e, "/sessions")}>
        <span class="logo">◆</span> AgentLog
      </a>
      <nav>
        {NAV.map(([href, label]) => (
          <a key={href} href={href} class={path.startsWith(href) ? "active" : ""} onClick={(e) => onLinkClick(e, href)}>
            {label}
          </a>
        ))}
      </nav>
      <div class="header-right">
        <button class="icon" title="Keyboard shortcuts (?)" onClick={() => setHelp(true)}>
          ?
        </button>
        <button
          class="icon"
          data-testid="theme-toggle"
          title={`Switch to ${t === "dark" ? "light" : "dark"} theme`}
          onClick={() => setTheme(t === "dark" ? "light" : "dark")}
        >
          {t === "dark" ? "☀" : "☾"}
        </button>
        <span class="user" data-testid="current-user">
          {email} <span class={`badge role-${role}`}>{role}</span>
        </span>
        <button data-testid="logout" onClick={() => logout().then(() => navigate("/login", { replace: true }))}>
          Log out
        </button>
      </div>
      {help && <ShortcutHelp onClose={() => setHelp(false)} />}
    </header>
  );
}

export const SHORTCUTS: [string, string][] = [
  ["j / k", "next / previous row (sessions, events, the session's events)"],
  ["Enter", "open the selected row"],
  ["/", "focus the search box"],
  ["Esc", "close the inspector, clear the selection, leave a field"],
  ["+ / − / 0", "zoom the timeline in / out / fit"],
  ["r", "replay on / off (session view)"],
  ["Space", "play / pause the replay"],
  ["← / →", "step the replay back / forward"],
  ["?", "this help"],
];

function ShortcutHelp({ onClose }: { onClose: () => void }): JSX.Element {
  return (
    <Modal title="Keyboard shortcuts" onClose={onClose}>
      <table class="shortcuts">
        <tbody>
          {SHORTCUTS.map(([k, what]) => (
            <tr key={k}>
              <td>
                <kbd>{k}</kbd>
              </td>
              <td>{what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="modal-actions">
        <button data-autofocus onClick={onClose}>
          Close
        </button>
      </div>
    </Modal>
  );
}
