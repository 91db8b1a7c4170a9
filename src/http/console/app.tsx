/**
 * Runnel's web console: a Preact single-page app served by the broker at `/` (bundled and embedded at build
 * time). Every value that came from clients (keys, values, headers, group and client ids) is rendered as text by
 * Preact, never as HTML.
 */
import { render } from "preact";
import { useRoute, href } from "./hooks.ts";
import { Overview } from "./pages/overview.tsx";
import { TopicList, TopicDetail } from "./pages/topics.tsx";
import { MessageBrowser } from "./pages/messages.tsx";
import { GroupList, GroupDetail } from "./pages/groups.tsx";
import { ClusterConfigs } from "./pages/cluster.tsx";
import { AclList, UserList } from "./pages/security.tsx";

const NAV: [string, string, string][] = [
  ["", "Overview", "M3 13h4v8H3zM10 3h4v18h-4zM17 8h4v13h-4z"],
  ["topics", "Topics", "M4 5h16v3H4zM4 10.5h16v3H4zM4 16h16v3H4z"],
  ["messages", "Messages", "M3 5h18v11H8l-5 4z"],
  ["groups", "Consumer groups", "M8 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm8 0a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM2 19c0-3 3-5 6-5s6 2 6 5zm12 0c0-1.5-.5-3-1.5-4 1-.6 2.2-1 3.5-1 3 0 6 2 6 5z"],
  ["cluster", "Cluster", "M12 2l9 5v10l-9 5-9-5V7zm0 3.3L6 8.6v6.8l6 3.3 6-3.3V8.6z"],
  ["acls", "ACLs", "M12 2l8 3v6c0 5-3.4 9.4-8 11-4.6-1.6-8-6-8-11V5zm0 2.2L6 6.4V11c0 3.9 2.5 7.4 6 8.8 3.5-1.4 6-4.9 6-8.8V6.4z"],
  ["users", "Users", "M12 12a4.5 4.5 0 1 0 0-9 4.5 4.5 0 0 0 0 9zm0 2c-4.4 0-8 2.2-8 5v2h16v-2c0-2.8-3.6-5-8-5z"],
];

function Page({ route }: { route: string[] }) {
  const [section, a] = route;
  switch (section ?? "") {
    case "":
      return <Overview />;
    case "topics":
      return a === undefined ? <TopicList /> : <TopicDetail name={a} />;
    case "messages":
      return <MessageBrowser topic={a ?? null} />;
    case "groups":
      return a === undefined ? <GroupList /> : <GroupDetail groupId={a} />;
    case "cluster":
      return <ClusterConfigs />;
    case "acls":
      return <AclList />;
    case "users":
      return <UserList />;
    default:
      return <p class="error">No page here.</p>;
  }
}

function App() {
  const route = useRoute();
  const current = route[0] ?? "";
  return (
    <div class="layout">
      <nav class="sidebar">
        <a class="brand" href="#/">
          <svg viewBox="0 0 24 24" width="26" height="26">
            <path d="M2 8c4-4 6 4 10 0s6 4 10 0M2 14c4-4 6 4 10 0s6 4 10 0" fill="none" stroke="currentColor" stroke-width="2.4" stroke-linecap="round" />
          </svg>
          Runnel
        </a>
        {NAV.map(([path, label, icon]) => (
          <a class={current === path ? "nav active" : "nav"} href={href(...(path ? [path] : []))}>
            <svg viewBox="0 0 24 24" width="18" height="18">
              <path d={icon} fill="currentColor" />
            </svg>
            {label}
          </a>
        ))}
      </nav>
      <main>
        <Page route={route} />
      </main>
    </div>
  );
}

render(<App />, document.getElementById("app")!);
