/** Hash routes (`#/jobs`, `#/jobs/<id>`): the gateway serves one page, the browser keeps the place. */
import { useEffect, useState } from "preact/hooks";

export type Route =
  | { page: "overview" }
  | { page: "jobs"; params: URLSearchParams }
  | { page: "job"; id: string }
  | { page: "dead-letters" }
  | { page: "events" }
  | { page: "queue" };

export function parseRoute(hash: string): Route {
  const [path = "", q = ""] = hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case "jobs":
      return parts[1] ? { page: "job", id: parts[1] } : { page: "jobs", params: new URLSearchParams(q) };
    case "dead-letters":
      return { page: "dead-letters" };
    case "events":
      return { page: "events" };
    case "queue":
      return { page: "queue" };
    default:
      return { page: "overview" };
  }
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}

export const jobHref = (id: string) => `#/jobs/${encodeURIComponent(id)}`;
