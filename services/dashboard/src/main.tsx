/**
 * The dashboard's shell: sign-in with a gateway token (kept in sessionStorage for the browser session), the
 * navigation, and the page of the current hash route.
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, get, storedToken, storeToken } from "./api";
import { useRoute, type Route } from "./router";
import { SessionContext } from "./session";
import type { Session } from "./types";
import { ErrorLine } from "./components/ui";
import { Overview } from "./pages/Overview";
import { Jobs } from "./pages/Jobs";
import { JobDetail } from "./pages/JobDetail";
import { DeadLetters } from "./pages/DeadLetters";
import { Events } from "./pages/Events";
import { QueueJob } from "./pages/QueueJob";
import "./styles.css";

const NAV: { href: string; label: string; page: Route["page"][] }[] = [
  { href: "#/", label: "Overview", page: ["overview"] },
  { href: "#/jobs", label: "Jobs", page: ["jobs", "job"] },
  { href: "#/dead-letters", label: "Dead letters", page: ["dead-letters"] },
  { href: "#/events", label: "Live events", page: ["events"] },
  { href: "#/queue", label: "Queue a job", page: ["queue"] },
];

function App() {
  const route = useRoute();
  const [session, setSession] = useState<Session | undefined>(undefined);
  const [needsToken, setNeedsToken] = useState(false);
  const [error, setError] = useState<unknown>(undefined);

  const signIn = async () => {
    try {
      if (!storedToken()) {
        const { authRequired } = await get<{ authRequired: boolean }>("/dashboard/config.json");
        if (authRequired) {
          setNeedsToken(true);
          return;
        }
      }
      setSession(await get<Session>("/v1/dashboard/session"));
      setNeedsToken(false);
      setError(undefined);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        if (storedToken()) setError(err);
        storeToken(null);
        setNeedsToken(true);
      } else {
        setError(err);
      }
    }
  };
  useEffect(() => void signIn(), []);

  if (needsToken) return <SignIn error={error} onToken={(t) => (storeToken(t), void signIn())} />;
  if (!session) {
    return (
      <main id="main">
        <h1>taskjet</h1>
        <ErrorLine error={error} />
        {!error && <p class="muted">connecting to the gateway…</p>}
      </main>
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <a
        class="skip"
        href="#main"
        onClick={(e) => (e.preventDefault(), document.getElementById("main")?.focus())}
      >
        Skip to content
      </a>
      <header class="top">
        <span class="brand">taskjet</span>
        <nav aria-label="pages">
          {NAV.map((n) => (
            <a key={n.href} href={n.href} aria-current={n.page.includes(route.page) ? "page" : undefined}>
              {n.label}
            </a>
          ))}
        </nav>
        <span class="who">
          tenant {session.tenant} · {session.role === "read" ? "read-only" : "full access"}
          {storedToken() && (
            <button
              type="button"
              class="link"
              onClick={() => {
                storeToken(null);
                setSession(undefined);
                setNeedsToken(true);
              }}
            >
              Sign out
            </button>
          )}
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} />
      </main>
    </SessionContext.Provider>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "overview":
      return <Overview />;
    case "jobs":
      return <Jobs params={route.params} />;
    case "job":
      return <JobDetail id={route.id} />;
    case "dead-letters":
      return <DeadLetters />;
    case "events":
      return <Events />;
    case "queue":
      return <QueueJob />;
  }
}

function SignIn({ error, onToken }: { error: unknown; onToken: (token: string) => void }) {
  const [token, setToken] = useState("");
  return (
    <main id="main" class="signin">
      <h1>Sign in to taskjet</h1>
      <p>
        Paste a gateway token (TASKJET_GATEWAY_TOKENS, or TASKJET_GATEWAY_READONLY_TOKENS to look without
        changing anything). It is kept for this browser tab's session only.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (token.trim()) onToken(token.trim());
        }}
      >
        <label>
          Token
          <input
            type="password"
            autoComplete="current-password"
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Sign in</button>
      </form>
      <ErrorLine error={error} />
    </main>
  );
}

render(<App />, document.getElementById("app")!);
