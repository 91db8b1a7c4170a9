/**
 * Message browser: read a topic (one partition or all) from an offset, a time, or the newest N, filter by key or
 * value text, and look at each record's key, value (text, pretty JSON or hex), headers, timestamp and
 * compression; produce a message by hand. Record contents are only ever rendered as text.
 */
import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { go, useApi } from "../hooks.ts";

interface Header {
  key: string;
  value: string | null;
  valueBase64: string | null;
}

interface BrowsedRecord {
  partition: number;
  offset: number;
  timestamp: number;
  timestampType: string;
  key: string | null;
  keyBase64: string | null;
  value: string | null;
  valueBase64: string | null;
  headers: Header[];
  compression: string;
  size: number;
}

type View = "text" | "json" | "hex";

function hexDump(b64: string | null): string {
  if (b64 === null) return "null";
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    const row = bytes.subarray(i, i + 16);
    const hex = [...row].map((x) => x.toString(16).padStart(2, "0")).join(" ");
    const ascii = [...row].map((x) => (x >= 32 && x < 127 ? String.fromCharCode(x) : ".")).join("");
    lines.push(`${i.toString(16).padStart(8, "0")}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join("\n");
}

function prettyJson(text: string | null): string | null {
  if (text === null) return null;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return null;
  }
}

function RecordView({ r }: { r: BrowsedRecord }) {
  const json = prettyJson(r.value);
  const [view, setView] = useState<View>(json !== null ? "json" : "text");
  const body = view === "hex" ? hexDump(r.valueBase64) : view === "json" ? (json ?? "(not JSON)") : (r.value ?? "null");
  return (
    <div class="record" data-testid="record-detail">
      <div class="meta">
        <span>
          Partition <b>{r.partition}</b>
        </span>
        <span>
          Offset <b>{r.offset}</b>
        </span>
        <span>
          {r.timestampType} <b>{new Date(r.timestamp).toISOString()}</b>
        </span>
        <span>
          Compression <b>{r.compression}</b>
        </span>
        <span>
          Size <b>{r.size} B</b>
        </span>
      </div>
      <h3>Key</h3>
      <pre class="value">{r.key ?? "null"}</pre>
      <h3>
        Value
        <span class="tabs">
          {(["text", "json", "hex"] as View[]).map((v) => (
            <button class={view === v ? "tab active" : "tab"} onClick={() => setView(v)}>
              {v === "json" ? "JSON" : v}
            </button>
          ))}
        </span>
      </h3>
      <pre class="value" data-testid="value-view">
        {body}
      </pre>
      <h3>Headers</h3>
      {r.headers.length === 0 ? (
        <p class="muted">No headers.</p>
      ) : (
        <table>
          <tbody>
            {r.headers.map((h) => (
              <tr>
                <td class="mono">{h.key}</td>
                <td class="mono">{h.value ?? "null"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function ProduceForm({ topic, partitions, done }: { topic: string; partitions: number; done: () => void }) {
  const [partition, setPartition] = useState("");
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  const [headers, setHeaders] = useState("");
  const [msg, setMsg] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setMsg(null);
    const hs: Record<string, string> = {};
    for (const line of headers.split("\n")) {
      const eq = line.indexOf("=");
      if (line.trim() !== "") hs[eq < 0 ? line.trim() : line.slice(0, eq).trim()] = eq < 0 ? "" : line.slice(eq + 1);
    }
    try {
      const r = await api<{ partition: number; offset: number }>(`/topics/${encodeURIComponent(topic)}/messages`, "POST", {
        key: key === "" ? null : key,
        value,
        headers: hs,
        partition: partition === "" ? null : Number(partition),
      });
      setMsg(`Produced to partition ${r.partition} at offset ${r.offset}.`);
      done();
    } catch (err) {
      setMsg(`Error: ${(err as Error).message}`);
    }
  };
  return (
    <form class="panel produce" onSubmit={submit} data-testid="produce">
      <h2>Produce a message</h2>
      <div class="form-row">
        <label>
          Partition
          <select name="partition" value={partition} onChange={(e) => setPartition(e.currentTarget.value)}>
            <option value="">by key</option>
            {Array.from({ length: partitions }, (_, i) => (
              <option value={String(i)}>{i}</option>
            ))}
          </select>
        </label>
        <label class="grow">
          Key
          <input name="key" value={key} onInput={(e) => setKey(e.currentTarget.value)} placeholder="(null)" />
        </label>
      </div>
      <label>
        Value
        <textarea name="value" rows={4} value={value} onInput={(e) => setValue(e.currentTarget.value)} placeholder='{"hello": "world"}' />
      </label>
      <label>
        Headers (one key=value a line)
        <textarea name="headers" rows={2} value={headers} onInput={(e) => setHeaders(e.currentTarget.value)} />
      </label>
      <div class="form-row">
        <button type="submit" class="primary">
          Produce
        </button>
        {msg && (
          <span class={msg.startsWith("Error") ? "error" : "ok"} data-testid="produce-result">
            {msg}
          </span>
        )}
      </div>
    </form>
  );
}

/** The message browser page. */
export function MessageBrowser({ topic }: { topic: string | null }) {
  const { data: topics } = useApi<{ topics: { name: string; partitions: number; internal: boolean }[] }>("/topics");
  const [partition, setPartition] = useState("");
  const [mode, setMode] = useState("newest");
  const [start, setStart] = useState("");
  const [limit, setLimit] = useState("50");
  const [keyFilter, setKeyFilter] = useState("");
  const [valueFilter, setValueFilter] = useState("");
  const [records, setRecords] = useState<BrowsedRecord[] | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const info = topics?.topics.find((t) => t.name === topic);
  const search = async (e?: Event) => {
    e?.preventDefault();
    if (topic === null) return;
    setError(null);
    const q = new URLSearchParams({ limit });
    if (partition !== "") q.set("partition", partition);
    if (mode === "offset") q.set("offset", start || "0");
    else if (mode === "timestamp") q.set("timestamp", String(Date.parse(start) || Number(start) || 0));
    else q.set("newest", limit);
    if (keyFilter) q.set("key", keyFilter);
    if (valueFilter) q.set("value", valueFilter);
    try {
      const r = await api<{ records: BrowsedRecord[] }>(`/topics/${encodeURIComponent(topic)}/messages?${q}`);
      setRecords(r.records);
      setOpen(null);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <section>
      <h1>Messages</h1>
      <form class="panel form-row" onSubmit={search} data-testid="browse">
        <label>
          Topic
          <select name="topic" value={topic ?? ""} onChange={(e) => { setRecords(null); go("messages", e.currentTarget.value); }}>
            <option value="">choose a topic</option>
            {(topics?.topics ?? []).map((t) => (
              <option value={t.name}>{t.name}</option>
            ))}
          </select>
        </label>
        <label>
          Partition
          <select name="partition" value={partition} onChange={(e) => setPartition(e.currentTarget.value)}>
            <option value="">all</option>
            {Array.from({ length: info?.partitions ?? 0 }, (_, i) => (
              <option value={String(i)}>{i}</option>
            ))}
          </select>
        </label>
        <label>
          Start
          <select name="mode" value={mode} onChange={(e) => setMode(e.currentTarget.value)}>
            <option value="newest">newest</option>
            <option value="offset">from offset</option>
            <option value="timestamp">from time</option>
          </select>
        </label>
        {mode !== "newest" && (
          <label>
            {mode === "offset" ? "Offset" : "Time (ISO or ms)"}
            <input name="start" value={start} onInput={(e) => setStart(e.currentTarget.value)} placeholder={mode === "offset" ? "0" : "2026-01-01T00:00:00Z"} />
          </label>
        )}
        <label>
          Max
          <input name="limit" type="number" min="1" max="500" value={limit} onInput={(e) => setLimit(e.currentTarget.value)} />
        </label>
        <label>
          Key contains
          <input name="keyFilter" value={keyFilter} onInput={(e) => setKeyFilter(e.currentTarget.value)} />
        </label>
        <label>
          Value contains
          <input name="valueFilter" value={valueFilter} onInput={(e) => setValueFilter(e.currentTarget.value)} />
        </label>
        <button type="submit" class="primary" disabled={topic === null}>
          Search
        </button>
      </form>
      {error && <p class="error">{error}</p>}
      {records !== null && (
        <div class="panel">
          <p class="muted">{records.length} record(s)</p>
          <table data-testid="records" class="records">
            <thead>
              <tr>
                <th class="num">Partition</th>
                <th class="num">Offset</th>
                <th>Timestamp</th>
                <th>Key</th>
                <th>Value</th>
              </tr>
            </thead>
            <tbody>
              {records.map((r) => {
                const id = `${r.partition}:${r.offset}`;
                return (
                  <>
                    <tr class="clickable" data-testid={`record-${id}`} onClick={() => setOpen(open === id ? null : id)}>
                      <td class="num">{r.partition}</td>
                      <td class="num">{r.offset}</td>
                      <td class="nowrap">{new Date(r.timestamp).toISOString().replace("T", " ").replace("Z", "")}</td>
                      <td class="mono trunc">{r.key ?? "null"}</td>
                      <td class="mono trunc">{r.value ?? "null"}</td>
                    </tr>
                    {open === id && (
                      <tr>
                        <td colSpan={5}>
                          <RecordView r={r} />
                        </td>
                      </tr>
                    )}
                  </>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {topic !== null && info !== undefined && <ProduceForm topic={topic} partitions={info.partitions} done={() => records !== null && search()} />}
    </section>
  );
}
