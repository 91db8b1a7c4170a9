/** Security: ACLs (list, create, delete) and SCRAM users (list, create, delete), through `/v1/acls` and `/v1/users`. */
import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { useApi } from "../hooks.ts";
import { AclOperation, ResourceType } from "../../../security/acl.ts";

interface Acl {
  resourceType: string;
  resourceName: string;
  patternType: string;
  principal: string;
  host: string;
  operation: string;
  permission: string;
}

interface ScramUser {
  name: string;
  credentials: { mechanism: string; iterations: number }[];
}

/** The names an ACL may hold, in code order, from the broker's own table: all but UNKNOWN and ANY (filters only). */
const bindable = (codes: Record<string, number>) => Object.keys(codes).filter((name) => name !== "UNKNOWN" && name !== "ANY");
const RESOURCE_TYPES = bindable(ResourceType);
const OPERATIONS = bindable(AclOperation);

/** Runs a change against the API, keeping its error message (null when it worked). */
function useAction(): { error: string | null; run: (change: () => Promise<unknown>, then: () => void) => Promise<void> } {
  const [error, setError] = useState<string | null>(null);
  const run = async (change: () => Promise<unknown>, then: () => void) => {
    setError(null);
    try {
      await change();
      then();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return { error, run };
}

/** A form's submit button and its error. */
function Submit({ label, error }: { label: string; error: string | null }) {
  return (
    <>
      <button type="submit" class="primary">
        {label}
      </button>
      {error && <p class="error">{error}</p>}
    </>
  );
}

function Choice({ name, value, options, set }: { name: string; value: string; options: string[]; set: (v: string) => void }) {
  return (
    <select name={name} value={value} onChange={(e) => set(e.currentTarget.value)}>
      {options.map((o) => (
        <option value={o}>{o}</option>
      ))}
    </select>
  );
}

function CreateAcl({ done }: { done: () => void }) {
  const [acl, setAcl] = useState<Acl>({ resourceType: "TOPIC", resourceName: "", patternType: "LITERAL", principal: "User:", host: "*", operation: "READ", permission: "ALLOW" });
  const { error, run } = useAction();
  const set = (k: keyof Acl) => (v: string) => setAcl({ ...acl, [k]: v });
  const submit = (e: Event) => {
    e.preventDefault();
    void run(() => api("/acls", "POST", acl), done);
  };
  return (
    <form class="panel form-row" onSubmit={submit} data-testid="create-acl">
      <h2>Create ACL</h2>
      <label>
        Principal
        <input name="principal" value={acl.principal} onInput={(e) => set("principal")(e.currentTarget.value)} required />
      </label>
      <label>
        Permission
        <Choice name="permission" value={acl.permission} options={["ALLOW", "DENY"]} set={set("permission")} />
      </label>
      <label>
        Operation
        <Choice name="operation" value={acl.operation} options={OPERATIONS} set={set("operation")} />
      </label>
      <label>
        Resource
        <Choice name="resourceType" value={acl.resourceType} options={RESOURCE_TYPES} set={set("resourceType")} />
      </label>
      <label>
        Pattern
        <Choice name="patternType" value={acl.patternType} options={["LITERAL", "PREFIXED"]} set={set("patternType")} />
      </label>
      <label>
        Resource name
        <input name="resourceName" value={acl.resourceName} onInput={(e) => set("resourceName")(e.currentTarget.value)} placeholder="orders, or kafka-cluster" required />
      </label>
      <label>
        Host
        <input name="host" value={acl.host} onInput={(e) => set("host")(e.currentTarget.value)} />
      </label>
      <Submit label="Create" error={error} />
    </form>
  );
}

function CreateUser({ done }: { done: () => void }) {
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [mechanism, setMechanism] = useState("SCRAM-SHA-256");
  const [iterations, setIterations] = useState("4096");
  const { error, run } = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void run(
      () => api("/users", "POST", { name: name.trim(), password, mechanism, iterations: Number(iterations) }),
      () => {
        setName("");
        setPassword("");
        done();
      },
    );
  };
  return (
    <form class="panel form-row" onSubmit={submit} data-testid="create-user">
      <h2>Create or update SCRAM user</h2>
      <label>
        User
        <input name="user" value={name} onInput={(e) => setName(e.currentTarget.value)} required />
      </label>
      <label>
        Password
        <input name="password" type="password" autocomplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
      </label>
      <label>
        Mechanism
        <Choice name="mechanism" value={mechanism} options={["SCRAM-SHA-256", "SCRAM-SHA-512"]} set={setMechanism} />
      </label>
      <label>
        Iterations
        <input name="iterations" type="number" min="4096" max="16384" value={iterations} onInput={(e) => setIterations(e.currentTarget.value)} />
      </label>
      <Submit label="Save" error={error} />
    </form>
  );
}

/** A table of text cells with a Delete button per row. */
function DeletableTable({ testid, headers, rows, remove, empty }: { testid: string; headers: string[]; rows: string[][]; remove: (i: number) => void; empty: string }) {
  return (
    <div class="panel">
      <table data-testid={testid}>
        <thead>
          <tr>
            {headers.map((h) => (
              <th>{h}</th>
            ))}
            <th></th>
          </tr>
        </thead>
        <tbody>
          {rows.map((cells, i) => (
            <tr>
              {cells.map((c) => (
                <td>{c}</td>
              ))}
              <td>
                <button class="link" onClick={() => remove(i)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && <p class="muted">{empty}</p>}
    </div>
  );
}

/** The ACL page. */
export function AclList() {
  const { data, error, reload } = useApi<{ acls: Acl[] }>("/acls", 5000);
  const { error: msg, run } = useAction();
  const acls = data?.acls ?? [];
  return (
    <section>
      <h1>ACLs</h1>
      <p class="muted">Enforced when the broker runs with authorizer.class.name; super.users pass every check.</p>
      <CreateAcl done={reload} />
      {(error || msg) && <p class="error">{error ?? msg}</p>}
      <DeletableTable
        testid="acls"
        headers={["Principal", "Permission", "Operation", "Resource", "Pattern", "Name", "Host"]}
        rows={acls.map((a) => [a.principal, a.permission, a.operation, a.resourceType, a.patternType, a.resourceName, a.host])}
        remove={(i) => run(() => api("/acls", "DELETE", acls[i]), reload)}
        empty="No ACLs."
      />
    </section>
  );
}

/** The SCRAM user page. */
export function UserList() {
  const { data, error, reload } = useApi<{ users: ScramUser[] }>("/users", 5000);
  const { error: msg, run } = useAction();
  const users = data?.users ?? [];
  return (
    <section>
      <h1>Users</h1>
      <p class="muted">SCRAM credentials kept in the cluster metadata (only the salted keys are stored). PLAIN users live in the JAAS config.</p>
      <CreateUser done={reload} />
      {(error || msg) && <p class="error">{error ?? msg}</p>}
      <DeletableTable
        testid="users"
        headers={["User", "Credentials"]}
        rows={users.map((u) => [u.name, u.credentials.map((c) => `${c.mechanism} (${c.iterations} iterations)`).join(", ")])}
        remove={(i) => run(() => api(`/users/${encodeURIComponent(users[i].name)}`, "DELETE"), reload)}
        empty="No SCRAM users."
      />
    </section>
  );
}
