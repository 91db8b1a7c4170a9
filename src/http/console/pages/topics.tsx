/** Topics: the list with size, partitions, RF and retention; create; a topic's partitions and configs; alter config; delete. */
import { useState } from "preact/hooks";
import { api, formatBytes, formatCount, formatMs } from "../api.ts";
import { go, href, useApi } from "../hooks.ts";

interface TopicSummary {
  name: string;
  internal: boolean;
  partitions: number;
  replicationFactor: number;
  size: number;
  messages: number;
  retentionMs: number;
  cleanupPolicy: string[];
}

interface Config {
  name: string;
  value: string | null;
  source: string;
  readOnly: boolean;
  documentation: string;
}

function CreateTopic({ done }: { done: () => void }) {
  const [name, setName] = useState("");
  const [partitions, setPartitions] = useState("3");
  const [retention, setRetention] = useState("");
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const configs: Record<string, string> = {};
      if (retention.trim() !== "") configs["retention.ms"] = retention.trim();
      await api("/topics", "POST", { name: name.trim(), partitions: Number(partitions), configs });
      setName("");
      done();
    } catch (err) {
      setError(`${(err as Error).message}`);
    }
  };
  return (
    <form class="panel form-row" onSubmit={submit} data-testid="create-topic">
      <h2>Create topic</h2>
      <label>
        Name
        <input name="name" value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="orders" required />
      </label>
      <label>
        Partitions
        <input name="partitions" type="number" min="1" value={partitions} onInput={(e) => setPartitions(e.currentTarget.value)} />
      </label>
      <label>
        retention.ms
        <input name="retention" value={retention} onInput={(e) => setRetention(e.currentTarget.value)} placeholder="default (7 d)" />
      </label>
      <button type="submit" class="primary">
        Create
      </button>
      {error && <p class="error">{error}</p>}
    </form>
  );
}

/** The topic list. */
export function TopicList() {
  const { data, error, reload } = useApi<{ topics: TopicSummary[] }>("/topics", 5000);
  const [showInternal, setShowInternal] = useState(false);
  const topics = (data?.topics ?? []).filter((t) => showInternal || !t.internal).sort((a, b) => a.name.localeCompare(b.name));
  return (
    <section>
      <h1>Topics</h1>
      <CreateTopic done={reload} />
      {error && <p class="error">{error}</p>}
      <div class="panel">
        <label class="check">
          <input type="checkbox" checked={showInternal} onChange={(e) => setShowInternal(e.currentTarget.checked)} /> Show internal topics
        </label>
        <table data-testid="topics">
          <thead>
            <tr>
              <th>Name</th>
              <th class="num">Partitions</th>
              <th class="num">Replication</th>
              <th class="num">Messages</th>
              <th class="num">Size</th>
              <th>Retention</th>
              <th>Cleanup</th>
            </tr>
          </thead>
          <tbody>
            {topics.map((t) => (
              <tr>
                <td>
                  <a href={href("topics", t.name)}>{t.name}</a>
                  {t.internal && <span class="badge">internal</span>}
                </td>
                <td class="num">{t.partitions}</td>
                <td class="num">{t.replicationFactor}</td>
                <td class="num">{formatCount(t.messages)}</td>
                <td class="num">{formatBytes(t.size)}</td>
                <td>{formatMs(t.retentionMs)}</td>
                <td>{t.cleanupPolicy.join(", ")}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {topics.length === 0 && <p class="muted">No topics yet.</p>}
      </div>
    </section>
  );
}

interface TopicDetailData extends TopicSummary {
  id: string;
  partitionDetails: { partition: number; leader: number; replicas: number[]; isr: number[]; logStartOffset: number | null; highWatermark: number | null; logEndOffset: number | null; size: number | null; segments: number | null; offline: boolean }[];
}

function ConfigEditor({ topic }: { topic: string }) {
  const { data, reload } = useApi<{ configs: Config[] }>(`/topics/${encodeURIComponent(topic)}/configs`);
  const [key, setKey] = useState("retention.ms");
  const [value, setValue] = useState("");
  const [msg, setMsg] = useState<string | null>(null);
  const change = async (body: unknown) => {
    setMsg(null);
    try {
      await api(`/topics/${encodeURIComponent(topic)}/configs`, "PATCH", body);
      setMsg("Saved.");
      reload();
    } catch (e) {
      setMsg(`Error: ${(e as Error).message}`);
    }
  };
  return (
    <div class="panel">
      <h2>Configuration</h2>
      <form
        class="form-row"
        data-testid="alter-config"
        onSubmit={(e) => {
          e.preventDefault();
          change({ set: { [key]: value } });
        }}
      >
        <label>
          Key
          <select name="key" value={key} onChange={(e) => setKey(e.currentTarget.value)}>
            {(data?.configs ?? []).filter((c) => !c.readOnly).map((c) => (
              <option value={c.name}>{c.name}</option>
            ))}
          </select>
        </label>
        <label>
          Value
          <input name="value" value={value} onInput={(e) => setValue(e.currentTarget.value)} required />
        </label>
        <button type="submit" class="primary">
          Set
        </button>
        {msg && <span class={msg.startsWith("Error") ? "error" : "ok"}>{msg}</span>}
      </form>
      <table data-testid="topic-configs">
        <thead>
          <tr>
            <th>Key</th>
            <th>Value</th>
            <th>Source</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {[...(data?.configs ?? [])].sort((a, b) => Number(b.source === "dynamic topic") - Number(a.source === "dynamic topic") || a.name.localeCompare(b.name)).map((c) => (
            <tr class={c.source === "dynamic topic" ? "override" : ""}>
              <td class="mono" title={c.documentation}>
                {c.name}
              </td>
              <td class="mono">{c.value ?? "–"}</td>
              <td>
                <span class={`source ${c.source.replace(/\s/g, "-")}`}>{c.source}</span>
              </td>
              <td>
                {c.source === "dynamic topic" && (
                  <button class="link" onClick={() => change({ delete: [c.name] })}>
                    reset to default
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** One topic: partitions, configs, delete. */
export function TopicDetail({ name }: { name: string }) {
  const { data: t, error } = useApi<TopicDetailData>(`/topics/${encodeURIComponent(name)}`, 3000);
  const [confirm, setConfirm] = useState("");
  const [delError, setDelError] = useState<string | null>(null);
  const remove = async () => {
    try {
      await api(`/topics/${encodeURIComponent(name)}`, "DELETE");
      go("topics");
    } catch (e) {
      setDelError((e as Error).message);
    }
  };
  return (
    <section>
      <p class="crumbs">
        <a href={href("topics")}>Topics</a> / {name}
      </p>
      <h1>
        {name}
        <a class="button" href={href("messages", name)}>
          Browse messages
        </a>
      </h1>
      {error && <p class="error">{error}</p>}
      {t && (
        <>
          <div class="cards">
            <div class="card">
              <span>Partitions</span>
              <b>{t.partitions}</b>
            </div>
            <div class="card">
              <span>Replication factor</span>
              <b>{t.replicationFactor}</b>
            </div>
            <div class="card">
              <span>Messages</span>
              <b>{formatCount(t.messages)}</b>
            </div>
            <div class="card">
              <span>Size</span>
              <b>{formatBytes(t.size)}</b>
            </div>
            <div class="card">
              <span>Retention</span>
              <b>{formatMs(t.retentionMs)}</b>
            </div>
          </div>
          <div class="panel">
            <h2>Partitions</h2>
            <table data-testid="partitions">
              <thead>
                <tr>
                  <th class="num">Partition</th>
                  <th class="num">Leader</th>
                  <th>Replicas</th>
                  <th>ISR</th>
                  <th class="num">Start offset</th>
                  <th class="num">High watermark</th>
                  <th class="num">End offset</th>
                  <th class="num">Size</th>
                  <th class="num">Segments</th>
                </tr>
              </thead>
              <tbody>
                {t.partitionDetails.map((p) => (
                  <tr>
                    <td class="num">{p.partition}</td>
                    <td class="num">{p.leader}</td>
                    <td>{p.replicas.join(", ")}</td>
                    <td>{p.offline ? <span class="error">offline</span> : p.isr.join(", ")}</td>
                    <td class="num">{formatCount(p.logStartOffset)}</td>
                    <td class="num">{formatCount(p.highWatermark)}</td>
                    <td class="num">{formatCount(p.logEndOffset)}</td>
                    <td class="num">{formatBytes(p.size)}</td>
                    <td class="num">{p.segments ?? "–"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <ConfigEditor topic={name} />
          {!t.internal && (
            <div class="panel danger">
              <h2>Delete topic</h2>
              <p>This removes the topic and all its data. Type the topic name to confirm.</p>
              <div class="form-row">
                <input name="confirm" value={confirm} onInput={(e) => setConfirm(e.currentTarget.value)} placeholder={name} />
                <button class="danger" disabled={confirm !== name} onClick={remove}>
                  Delete topic
                </button>
              </div>
              {delError && <p class="error">{delError}</p>}
            </div>
          )}
        </>
      )}
    </section>
  );
}
