/** Cluster: configs of each broker and topic, with the source of each value (default, file, dynamic). */
import { useState } from "preact/hooks";
import { useApi } from "../hooks.ts";

interface Config {
  name: string;
  value: string | null;
  source: string;
  readOnly: boolean;
  documentation: string;
}

function ConfigTable({ configs, filter }: { configs: Config[]; filter: string }) {
  const shown = configs.filter((c) => c.name.includes(filter.trim()));
  return (
    <table data-testid="configs">
      <thead>
        <tr>
          <th>Key</th>
          <th>Value</th>
          <th>Source</th>
          <th>Description</th>
        </tr>
      </thead>
      <tbody>
        {shown.map((c) => (
          <tr>
            <td class="mono">{c.name}</td>
            <td class="mono">{c.value ?? "–"}</td>
            <td>
              <span class={`source ${c.source.replace(/\s/g, "-")}`}>{c.source}</span>
            </td>
            <td class="muted small">{c.documentation}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The cluster page. */
export function ClusterConfigs() {
  const { data: cluster } = useApi<{ nodeId: number }>("/cluster");
  const { data: topics } = useApi<{ topics: { name: string }[] }>("/topics");
  const [resource, setResource] = useState("broker");
  const [filter, setFilter] = useState("");
  // Only the answering broker's configs are served here (GET /v1/brokers/{id}/configs).
  const brokerId = cluster?.nodeId;
  const path = resource === "broker" ? (brokerId === undefined ? null : `/brokers/${brokerId}/configs`) : `/topics/${encodeURIComponent(resource.slice(6))}/configs`;
  const { data, error } = useApi<{ configs: Config[] }>(path);
  return (
    <section>
      <h1>Cluster</h1>
      <div class="panel form-row">
        <label>
          Resource
          <select name="resource" value={resource} onChange={(e) => setResource(e.currentTarget.value)}>
            {brokerId !== undefined && <option value="broker">broker {brokerId}</option>}
            {(topics?.topics ?? []).map((t) => (
              <option value={`topic:${t.name}`}>topic {t.name}</option>
            ))}
          </select>
        </label>
        <label class="grow">
          Filter
          <input name="filter" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} placeholder="retention" />
        </label>
      </div>
      {error && <p class="error">{error}</p>}
      <div class="panel">{data && <ConfigTable configs={data.configs} filter={filter} />}</div>
    </section>
  );
}
