/** Emits `index.ts`: the `ApiKey` names, the `API_CODECS` table, header-version rules, and re-exports. */
import { CodeBuilder } from "./code-builder.ts";
import { GENERATED_HEADER } from "./emit-codec.ts";
import type { MessageModel } from "./schema-model.ts";
import type { VersionRange } from "./versions.ts";

/** A request/response pair served by brokers, with the file that holds both codecs. */
export interface ApiPair {
  /** API name without the Request/Response suffix, e.g. "Produce". */
  readonly name: string;
  /** The request schema. */
  readonly request: MessageModel;
  /** The response schema. */
  readonly response: MessageModel;
  /** Generated file name, e.g. "00_produce.ts". */
  readonly file: string;
}

/** Builds the text of `index.ts`. `otherFiles` are further generated files to re-export (headers, data). */
export function emitRegistry(apis: readonly ApiPair[], otherFiles: readonly string[]): string {
  const b = new CodeBuilder();
  b.line(GENERATED_HEADER);
  b.line("// Registry of the generated codecs: API keys, a codec table indexed by API key, and header versions.");
  b.line("");
  b.line('import type { Reader, Writer } from "../wire.ts";');
  b.line('import { UnsupportedVersionError } from "../errors-codec.ts";');
  for (const a of apis) {
    const names = [a.request.name, a.response.name].flatMap((n) => [`read${n}`, `write${n}`]).sort();
    b.line(`import { ${names.join(", ")} } from "./${a.file}";`);
  }
  b.line("");
  for (const f of [...apis.map((a) => a.file), ...otherFiles].sort()) b.line(`export * from "./${f}";`);
  b.line("");
  b.doc("Kafka API keys, by API name, of the APIs a broker serves (those with a codec in API_CODECS).");
  b.open("export const ApiKey = {");
  for (const a of apis) b.line(`${a.name}: ${a.request.apiKey},`);
  b.close("} as const;");
  b.line("");
  b.doc("Name of an API in ApiKey.");
  b.line("export type ApiName = keyof typeof ApiKey;");
  b.line("");
  b.doc("Versions and codec functions of one API.");
  b.open("export interface ApiCodec {");
  b.doc("The API key.");
  b.line("apiKey: number;");
  b.doc('The API name, e.g. "Produce".');
  b.line("name: string;");
  b.doc("Lowest valid version.");
  b.line("minVersion: number;");
  b.doc("Highest valid version.");
  b.line("maxVersion: number;");
  b.doc("First flexible version, or -1 if none.");
  b.line("flexibleMinVersion: number;");
  b.doc("Whether the highest version is still unstable in Kafka (hidden unless unstable versions are enabled).");
  b.line("latestVersionUnstable: boolean;");
  b.doc("Decodes a request body of version v.");
  b.line("readRequest(r: Reader, v: number): unknown;");
  b.doc("Encodes a request body at version v.");
  b.line("// deno-lint-ignore no-explicit-any");
  b.line("writeRequest(w: Writer, v: number, m: any): void;");
  b.doc("Decodes a response body of version v.");
  b.line("readResponse(r: Reader, v: number): unknown;");
  b.doc("Encodes a response body at version v.");
  b.line("// deno-lint-ignore no-explicit-any");
  b.line("writeResponse(w: Writer, v: number, m: any): void;");
  b.close();
  b.line("");
  const byKey = new Map(apis.map((a) => [a.request.apiKey, a]));
  const maxKey = Math.max(...apis.map((a) => a.request.apiKey));
  b.doc("Codecs indexed by API key; undefined for keys a broker does not serve.");
  b.open("export const API_CODECS: ReadonlyArray<ApiCodec | undefined> = [");
  for (let key = 0; key <= maxKey; key++) {
    const a = byKey.get(key);
    if (a === undefined) {
      b.line(`/* ${key} */ undefined,`);
      continue;
    }
    const valid = a.request.valid as VersionRange;
    const flexible = a.request.flexible;
    b.open(`/* ${key} */ {`);
    b.line(`apiKey: ${key},`);
    b.line(`name: ${JSON.stringify(a.name)},`);
    b.line(`minVersion: ${valid.lo},`);
    b.line(`maxVersion: ${valid.hi},`);
    b.line(`flexibleMinVersion: ${flexible === null ? -1 : flexible.lo},`);
    b.line(`latestVersionUnstable: ${a.request.latestVersionUnstable},`);
    b.line(`readRequest: read${a.request.name},`);
    b.line(`writeRequest: write${a.request.name},`);
    b.line(`readResponse: read${a.response.name},`);
    b.line(`writeResponse: write${a.response.name},`);
    b.close("},");
  }
  b.close("];");
  b.line("");
  b.doc("Request header version for a request of the given API version: 2 when the version is flexible, else 1.");
  b.open("export function requestHeaderVersion(apiKey: number, apiVersion: number): number {");
  b.line("const c = API_CODECS[apiKey];");
  b.line("if (c === undefined) throw new UnsupportedVersionError(`unknown API key ${apiKey}`, apiVersion, apiKey);");
  b.line("return c.flexibleMinVersion >= 0 && apiVersion >= c.flexibleMinVersion ? 2 : 1;");
  b.close();
  b.line("");
  b.doc(
    "Response header version: 1 when the API version is flexible, else 0; ApiVersions always uses 0 (KIP-511).",
  );
  b.open("export function responseHeaderVersion(apiKey: number, apiVersion: number): number {");
  b.line("const c = API_CODECS[apiKey];");
  b.line("if (c === undefined) throw new UnsupportedVersionError(`unknown API key ${apiKey}`, apiVersion, apiKey);");
  b.line("if (apiKey === ApiKey.ApiVersions) return 0;");
  b.line("return c.flexibleMinVersion >= 0 && apiVersion >= c.flexibleMinVersion ? 1 : 0;");
  b.close();
  return b.toString();
}
