/**
 * The web console's files, embedded in the program at build time (console-bundle.generated.ts, made by
 * `npm run build:console` from src/http/console): no CDN, no file beside the executable, no runtime download.
 */
import { CONSOLE_FILES } from "./console-bundle.generated.ts";

/** A file of the console. */
export interface ConsoleAsset {
  /** Content-Type header. */
  contentType: string;
  /** The bytes (text). */
  body: string;
}

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
};

/** The asset served at `path`; any path without a file extension is the single-page app's index.html. */
export function consoleAsset(path: string): ConsoleAsset | null {
  const name = path === "/" || !/\.[a-z0-9]+$/.test(path) ? "index.html" : path.slice(1);
  const body = CONSOLE_FILES[name];
  if (body === undefined) return null;
  return { contentType: TYPES[name.slice(name.lastIndexOf(".") + 1)] ?? "application/octet-stream", body };
}
