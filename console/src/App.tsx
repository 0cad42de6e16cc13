// The shell: who is signed in, the navigation, and the page for the route.
import { useEffect, useState } from "preact/hooks";
import { get, onSignedOut, signOut, type Principal } from "./api";
import { Issues } from "./pages/Issues";
import { Audit, Profiles, Users } from "./pages/Lists";
import { Monitor } from "./pages/Monitor";
import { Sessions } from "./pages/Sessions";
import { SignIn } from "./pages/SignIn";
import { UserPage } from "./pages/UserPage";
import { href, useRoute, type Route } from "./router";

function Page({ route, me }: { route: Route; me: Principal }) {
  const [a, b, c] = route.parts;
  if (!a || a === "monitor") return <Monitor card={b} me={me} />;
  if (a === "profiles" && !b) return <Profiles />;
  if (a === "profiles" && c === "sessions") return <Sessions profile={b} />;
  if (a === "profiles" && c === "issues") return <Issues profile={b} />;
  if (a === "profiles") return <Users profile={b} me={me} />;
  if (a === "users" && !b) return <Users me={me} />;
  if (a === "users" && c === "sessions") return <Sessions user={b} />;
  if (a === "users" && c === "issues") return <Issues user={b} />;
  if (a === "users") return <UserPage id={b} me={me} />;
  if (a === "audit") return <Audit />;
  return (
    <p class="error" role="alert">
      No such page. <a href={href()}>Go to the monitor</a>.
    </p>
  );
}

const NAV: [string, string][] = [
  ["monitor", "Monitor"],
  ["profiles", "Profiles"],
  ["users", "Users"],
  ["audit", "Audit"],
];

export function App() {
  const route = useRoute();
  const [me, setMe] = useState<Principal | null | undefined>(undefined);
  useEffect(() => {
    get<Principal>("/me")
      .then(setMe)
      .catch(() => setMe(null));
    return onSignedOut(() => setMe(null));
  }, []);
  useEffect(() => {
    const section = NAV.find(([k]) => k === (route.parts[0] ?? "monitor"))?.[1] ?? "Sync telemetry";
    document.title = `${section} · Sync telemetry`;
  }, [route]);

  if (me === undefined) return <p class="muted">Loading…</p>;
  if (me === null) return <SignIn onSignedIn={setMe} />;
  const current = route.parts[0] ?? "monitor";
  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById("main")?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Sync telemetry</span>
        <nav aria-label="Sections">
          {NAV.map(([k, l]) => (
            <a href={href(k)} aria-current={current === k ? "page" : undefined}>
              {l}
            </a>
          ))}
        </nav>
        <span class="who" data-testid="who">
          {me.tenant_id} · {me.role}
        </span>
        <button
          type="button"
          onClick={async () => {
            await signOut().catch(() => undefined);
            setMe(null);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} me={me} />
      </main>
    </>
  );
}
