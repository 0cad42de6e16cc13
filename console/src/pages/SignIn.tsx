// Sign-in with an API token (`query-api token create`). The server keeps it in an
// HttpOnly cookie; this page never stores it.
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { signIn, type ApiFailure, type Principal } from "../api";

export function SignIn({ onSignedIn }: { onSignedIn: (p: Principal) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Focus the field in the same task that mounts it: the `autofocus` attribute alone is
  // applied at the browser's next rendering update, so keys typed before it went nowhere.
  const field = useRef<HTMLInputElement>(null);
  useLayoutEffect(() => field.current?.focus(), []);
  const submit = async (e: Event) => {
    e.preventDefault();
    const t = token.trim();
    if (!/^sqa_[0-9a-f]{64}$/.test(t)) {
      setError("An API token looks like sqa_ followed by 64 hexadecimal characters. Ask an administrator for one.");
      return;
    }
    setBusy(true);
    try {
      onSignedIn(await signIn(t));
    } catch (err) {
      setError((err as ApiFailure).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <form onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Sync telemetry</h1>
        <p class="muted">Sign in with your API token.</p>
        <label class="stacked">
          API token
          <input
            ref={field}
            type="password"
            autoComplete="off"
            autoFocus
            value={token}
            onInput={(e) => setToken((e.target as HTMLInputElement).value)}
            aria-describedby={error ? "sign-in-error" : undefined}
          />
        </label>
        {error && (
          <p id="sign-in-error" class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
