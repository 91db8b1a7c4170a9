/** Small hooks the pages share: the hash route and polling the JSON API. */
import { useEffect, useState, useCallback } from "preact/hooks";
import { api } from "./api.ts";

/** The current hash route split into decoded segments (`#/topics/orders` -> ["topics", "orders"]). */
export function useRoute(): string[] {
  const read = () =>
    location.hash
      .replace(/^#\/?/, "")
      .split("?")[0]
      .split("/")
      .filter(Boolean)
      .map((s) => decodeURIComponent(s));
  const [route, setRoute] = useState(read());
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}

/** Navigates to a route given as segments. */
export function go(...segments: string[]): void {
  location.hash = "#/" + segments.map((s) => encodeURIComponent(s)).join("/");
}

/** A hash link to a route. */
export function href(...segments: string[]): string {
  return "#/" + segments.map((s) => encodeURIComponent(s)).join("/");
}

/** Loads `path` now and every `everyMs` (0 = once); `reload` fetches again at once. */
export function useApi<T>(path: string | null, everyMs = 0): { data: T | null; error: string | null; reload: () => void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    if (path === null) return;
    let live = true;
    const load = () =>
      api<T>(path).then(
        (d) => {
          if (!live) return;
          setData(d);
          setError(null);
        },
        (e) => live && setError(String(e.message ?? e)),
      );
    load();
    const timer = everyMs > 0 ? setInterval(load, everyMs) : null;
    return () => {
      live = false;
      if (timer !== null) clearInterval(timer);
    };
  }, [path, everyMs, tick]);
  return { data, error, reload };
}
