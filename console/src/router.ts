// A hash router: `#/users/u1?status=Error` -> { parts: ["users", "u1"], query }. The server
// only ever serves index.html, and a link is a plain `<a href="#/...">`.
import { useEffect, useState } from "preact/hooks";

export interface Route {
  parts: string[];
  query: URLSearchParams;
}

export function parse(hash: string): Route {
  const text = hash.replace(/^#\/?/, "");
  const [path, search = ""] = text.split("?", 2);
  const parts = path
    .split("/")
    .filter((p) => p !== "")
    .map(decodeURIComponent);
  return { parts, query: new URLSearchParams(search) };
}

/** The current route; re-renders on navigation. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.hash));
  useEffect(() => {
    const update = () => setRoute(parse(location.hash));
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  return route;
}

/** `#/a/b` from path parts, each encoded. */
export function href(...parts: string[]): string {
  return "#/" + parts.map(encodeURIComponent).join("/");
}

export function navigate(to: string): void {
  location.hash = to.replace(/^#/, "");
}
