/** Overview: cluster identity, brokers, counts, and live produce/consume throughput charts (updated every second). */
import { useEffect, useRef, useState } from "preact/hooks";
import { api, formatBytes, formatCount } from "../api.ts";
import { LineChart } from "../chart.tsx";

/** Seconds of history the charts keep. */
const HISTORY = 60;

interface Cluster {
  clusterId: string;
  controllerId: number;
  version: string;
  brokers: { nodeId: number; host: string; port: number; controller: boolean; state: string }[];
  topics: number;
  partitions: number;
  groups: number;
  traffic: { bytesIn: number; bytesOut: number; messagesIn: number; messagesOut: number };
}

interface Rates {
  bytesIn: number[];
  bytesOut: number[];
  messagesIn: number[];
  messagesOut: number[];
}

/** The overview page. */
export function Overview() {
  const [cluster, setCluster] = useState<Cluster | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [rates, setRates] = useState<Rates>({ bytesIn: [], bytesOut: [], messagesIn: [], messagesOut: [] });
  const last = useRef<{ at: number; t: Cluster["traffic"] } | null>(null);
  useEffect(() => {
    let live = true;
    const poll = async () => {
      try {
        const c = await api<Cluster>("/cluster");
        if (!live) return;
        const now = performance.now();
        const prev = last.current;
        if (prev !== null) {
          const s = Math.max(0.001, (now - prev.at) / 1000);
          const rate = (k: keyof Cluster["traffic"]) => Math.max(0, (c.traffic[k] - prev.t[k]) / s);
          setRates((r) => {
            const push = (a: number[], v: number) => [...a, v].slice(-HISTORY);
            return { bytesIn: push(r.bytesIn, rate("bytesIn")), bytesOut: push(r.bytesOut, rate("bytesOut")), messagesIn: push(r.messagesIn, rate("messagesIn")), messagesOut: push(r.messagesOut, rate("messagesOut")) };
          });
        }
        last.current = { at: now, t: c.traffic };
        setCluster(c);
        setError(null);
      } catch (e) {
        if (live) setError(String((e as Error).message));
      }
    };
    poll();
    const timer = setInterval(poll, 1000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  const perSecond = (n: number) => (n >= 100 ? formatCount(Math.round(n)) : n.toFixed(n === 0 ? 0 : 1));
  return (
    <section>
      <h1>Overview</h1>
      {error && <p class="error">{error}</p>}
      {cluster && (
        <>
          <div class="cards">
            <div class="card">
              <span>Brokers</span>
              <b>{cluster.brokers.length}</b>
            </div>
            <div class="card">
              <span>Controller</span>
              <b>{cluster.controllerId}</b>
            </div>
            <div class="card">
              <span>Topics</span>
              <b data-testid="topic-count">{cluster.topics}</b>
            </div>
            <div class="card">
              <span>Partitions</span>
              <b>{cluster.partitions}</b>
            </div>
            <div class="card">
              <span>Consumer groups</span>
              <b>{cluster.groups}</b>
            </div>
            <div class="card">
              <span>Version</span>
              <b>{cluster.version}</b>
            </div>
          </div>
          <div class="grid2">
            <div class="panel">
              <h2>Produce throughput</h2>
              <LineChart slots={HISTORY} unit="msg/s" format={perSecond} series={[{ label: "in", color: "#e5533d", points: rates.messagesIn }]} />
              <p class="muted">Bytes in: {formatBytes(rates.bytesIn[rates.bytesIn.length - 1] ?? 0)}/s · total {formatCount(cluster.traffic.messagesIn)} messages, {formatBytes(cluster.traffic.bytesIn)}</p>
            </div>
            <div class="panel">
              <h2>Consume throughput</h2>
              <LineChart slots={HISTORY} unit="msg/s" format={perSecond} series={[{ label: "out", color: "#2f7bd8", points: rates.messagesOut }]} />
              <p class="muted">Bytes out: {formatBytes(rates.bytesOut[rates.bytesOut.length - 1] ?? 0)}/s · total {formatCount(cluster.traffic.messagesOut)} messages, {formatBytes(cluster.traffic.bytesOut)}</p>
            </div>
          </div>
          <div class="panel">
            <h2>Brokers</h2>
            <table>
              <thead>
                <tr>
                  <th>ID</th>
                  <th>Address</th>
                  <th>Role</th>
                  <th>Status</th>
                </tr>
              </thead>
              <tbody>
                {cluster.brokers.map((b) => (
                  <tr>
                    <td>{b.nodeId}</td>
                    <td class="mono">
                      {b.host}:{b.port}
                    </td>
                    <td>{b.controller ? <span class="badge">controller</span> : "broker"}</td>
                    <td>{b.state === "RUNNING" ? <><span class="dot ok" /> online</> : "shutting down"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p class="muted mono">Cluster ID {cluster.clusterId}</p>
          </div>
        </>
      )}
    </section>
  );
}
