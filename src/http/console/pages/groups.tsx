/** Consumer groups: the list with state, members and lag; a group's members, assignment, offsets, lag chart, and offset reset with a dry-run preview. */
import { useEffect, useRef, useState } from "preact/hooks";
import { api, formatCount } from "../api.ts";
import { href, useApi } from "../hooks.ts";
import { LineChart } from "../chart.tsx";

interface GroupRow {
  groupId: string;
  state: string;
  protocolType: string;
  members: number;
  lag: number;
}

interface OffsetRow {
  topic: string;
  partition: number;
  committed: number | null;
  logEndOffset: number | null;
  lag: number | null;
  memberId: string | null;
  clientId: string | null;
  host: string | null;
}

interface GroupDetailData {
  groupId: string;
  state: string;
  protocolType: string;
  protocol: string;
  members: { memberId: string; groupInstanceId: string | null; clientId: string; host: string; assignment: { topic: string; partitions: number[] }[] }[];
  offsets: OffsetRow[];
  lag: number;
}

/** Seconds of lag history the chart keeps. */
const LAG_HISTORY = 60;

function StateBadge({ state }: { state: string }) {
  return <span class={`state ${state.toLowerCase()}`}>{state}</span>;
}

/** The group list. */
export function GroupList() {
  const { data, error } = useApi<{ groups: GroupRow[] }>("/groups", 2000);
  return (
    <section>
      <h1>Consumer groups</h1>
      {error && <p class="error">{error}</p>}
      <div class="panel">
        <table data-testid="groups">
          <thead>
            <tr>
              <th>Group</th>
              <th>State</th>
              <th>Protocol</th>
              <th class="num">Members</th>
              <th class="num">Lag</th>
            </tr>
          </thead>
          <tbody>
            {(data?.groups ?? []).map((g) => (
              <tr>
                <td>
                  <a href={href("groups", g.groupId)}>{g.groupId}</a>
                </td>
                <td>
                  <StateBadge state={g.state} />
                </td>
                <td>{g.protocolType || "–"}</td>
                <td class="num">{g.members}</td>
                <td class="num">{formatCount(g.lag)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {data?.groups.length === 0 && <p class="muted">No consumer groups yet.</p>}
      </div>
    </section>
  );
}

interface PlanRow {
  topic: string;
  partition: number;
  current: number | null;
  target: number;
  lagAfter: number;
}

function ResetOffsets({ groupId, topics, state, done }: { groupId: string; topics: string[]; state: string; done: () => void }) {
  const [topic, setTopic] = useState(topics[0] ?? "");
  const [to, setTo] = useState("earliest");
  const [value, setValue] = useState("");
  const [plan, setPlan] = useState<PlanRow[] | null>(null);
  const [msg, setMsg] = useState<string | null>(null);
  useEffect(() => {
    if (topic === "" && topics.length > 0) setTopic(topics[0]);
  }, [topics.join(",")]);
  const body = (dryRun: boolean) => {
    const b: Record<string, unknown> = { topic, to, dryRun };
    if (to === "offset") b.offset = Number(value);
    if (to === "shift") b.shift = Number(value);
    if (to === "timestamp") b.timestamp = Date.parse(value) || Number(value);
    return b;
  };
  const run = async (dryRun: boolean) => {
    setMsg(null);
    try {
      const r = await api<{ offsets: PlanRow[] }>(`/groups/${encodeURIComponent(groupId)}/reset-offsets`, "POST", body(dryRun));
      setPlan(r.offsets);
      if (!dryRun) {
        setMsg("Offsets reset.");
        setPlan(null);
        done();
      }
    } catch (e) {
      setMsg(`Error: ${(e as Error).message}`);
    }
  };
  const active = state !== "Empty" && state !== "Dead";
  return (
    <div class="panel" data-testid="reset-offsets">
      <h2>Reset offsets</h2>
      {active && <p class="muted">Stop the group's consumers first: offsets can only be reset while the group is inactive (state {state}).</p>}
      <div class="form-row">
        <label>
          Topic
          <input name="topic" value={topic} onInput={(e) => setTopic(e.currentTarget.value)} list="group-topics" />
          <datalist id="group-topics">
            {topics.map((t) => (
              <option value={t} />
            ))}
          </datalist>
        </label>
        <label>
          To
          <select name="to" value={to} onChange={(e) => setTo(e.currentTarget.value)}>
            <option value="earliest">earliest</option>
            <option value="latest">latest</option>
            <option value="offset">offset</option>
            <option value="shift">shift by</option>
            <option value="timestamp">time</option>
          </select>
        </label>
        {(to === "offset" || to === "shift" || to === "timestamp") && (
          <label>
            {to === "timestamp" ? "Time (ISO or ms)" : to === "shift" ? "Shift (±N)" : "Offset"}
            <input name="value" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
          </label>
        )}
        <button onClick={() => run(true)} disabled={topic === ""}>
          Preview (dry run)
        </button>
        <button class="primary" onClick={() => run(false)} disabled={plan === null || active}>
          Apply
        </button>
        {msg && <span class={msg.startsWith("Error") ? "error" : "ok"} data-testid="reset-result">{msg}</span>}
      </div>
      {plan !== null && (
        <table data-testid="reset-plan">
          <thead>
            <tr>
              <th>Topic</th>
              <th class="num">Partition</th>
              <th class="num">Current</th>
              <th class="num">New offset</th>
              <th class="num">Lag after</th>
            </tr>
          </thead>
          <tbody>
            {plan.map((p) => (
              <tr>
                <td>{p.topic}</td>
                <td class="num">{p.partition}</td>
                <td class="num">{p.current ?? "–"}</td>
                <td class="num">{p.target}</td>
                <td class="num">{p.lagAfter}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** One group. */
export function GroupDetail({ groupId }: { groupId: string }) {
  const { data: g, error, reload } = useApi<GroupDetailData>(`/groups/${encodeURIComponent(groupId)}`, 1000);
  const [history, setHistory] = useState<number[]>([]);
  const lastSeen = useRef<GroupDetailData | null>(null);
  useEffect(() => {
    if (g === null || g === lastSeen.current) return;
    lastSeen.current = g;
    setHistory((h) => [...h, g.lag].slice(-LAG_HISTORY));
  }, [g]);
  const topics = [...new Set((g?.offsets ?? []).map((o) => o.topic))];
  return (
    <section>
      <p class="crumbs">
        <a href={href("groups")}>Consumer groups</a> / {groupId}
      </p>
      <h1>{groupId}</h1>
      {error && <p class="error">{error}</p>}
      {g && (
        <>
          <div class="cards">
            <div class="card">
              <span>State</span>
              <b>
                <StateBadge state={g.state} />
              </b>
            </div>
            <div class="card">
              <span>Members</span>
              <b>{g.members.length}</b>
            </div>
            <div class="card">
              <span>Assignor</span>
              <b>{g.protocol || "–"}</b>
            </div>
            <div class="card">
              <span>Total lag</span>
              <b data-testid="total-lag">{formatCount(g.lag)}</b>
            </div>
          </div>
          <div class="panel">
            <h2>Lag</h2>
            <LineChart slots={LAG_HISTORY} unit="messages" format={(n) => formatCount(Math.round(n))} series={[{ label: "lag", color: "#8a4fd8", points: history }]} />
          </div>
          <div class="panel">
            <h2>Members</h2>
            <table data-testid="members">
              <thead>
                <tr>
                  <th>Member</th>
                  <th>Client ID</th>
                  <th>Host</th>
                  <th>Assignment</th>
                </tr>
              </thead>
              <tbody>
                {g.members.map((m) => (
                  <tr>
                    <td class="mono trunc">{m.memberId}</td>
                    <td class="mono">{m.clientId}</td>
                    <td class="mono">{m.host}</td>
                    <td>{m.assignment.map((a) => `${a.topic} [${a.partitions.join(", ")}]`).join("; ") || "–"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {g.members.length === 0 && <p class="muted">No active members.</p>}
          </div>
          <div class="panel">
            <h2>Offsets</h2>
            <table data-testid="offsets">
              <thead>
                <tr>
                  <th>Topic</th>
                  <th class="num">Partition</th>
                  <th class="num">Committed</th>
                  <th class="num">End offset</th>
                  <th class="num">Lag</th>
                  <th>Consumer</th>
                </tr>
              </thead>
              <tbody>
                {g.offsets.map((o) => (
                  <tr>
                    <td>{o.topic}</td>
                    <td class="num">{o.partition}</td>
                    <td class="num">{formatCount(o.committed)}</td>
                    <td class="num">{formatCount(o.logEndOffset)}</td>
                    <td class="num">{formatCount(o.lag)}</td>
                    <td class="mono">{o.clientId ?? "–"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <ResetOffsets groupId={groupId} topics={topics} state={g.state} done={reload} />
        </>
      )}
    </section>
  );
}
