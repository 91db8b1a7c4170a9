/**
 * A scenario's connection to a 3-broker Runnel cluster, routing each request where a Kafka client would send it:
 * partition requests (Produce, Fetch, ListOffsets, DeleteRecords, OffsetForLeaderEpoch, DescribeProducers) to each
 * partition's leader (split by leader and the answers merged when a request spans several), group and transaction
 * requests to the coordinator FindCoordinator names, ListGroups and ListTransactions to every broker (answers
 * merged), an incremental Fetch to the brokers that hold its session, DescribeLogDirs to the brokers hosting the
 * partitions it names (answers merged), everything else to the first broker. So the
 * differential scenarios, written for one broker, run unchanged against the cluster.
 */
import { RawClient } from "../support/raw-client.ts";

/** Where the topics and partitions of a partition request sit, in the request and in the answer. */
interface PartitionShape {
  reqTopics: string;
  reqParts: string;
  reqIndex: string | null;
  resTopics: string;
  resParts: string;
}

/** Partition requests by API key (DescribeProducers lists partition indexes as numbers: reqIndex null). */
const PARTITION_APIS: Record<number, PartitionShape> = {
  0: { reqTopics: "topicData", reqParts: "partitionData", reqIndex: "index", resTopics: "responses", resParts: "partitionResponses" },
  1: { reqTopics: "topics", reqParts: "partitions", reqIndex: "partition", resTopics: "responses", resParts: "partitions" },
  2: { reqTopics: "topics", reqParts: "partitions", reqIndex: "partitionIndex", resTopics: "topics", resParts: "partitions" },
  21: { reqTopics: "topics", reqParts: "partitions", reqIndex: "partitionIndex", resTopics: "topics", resParts: "partitions" },
  23: { reqTopics: "topics", reqParts: "partitions", reqIndex: "partition", resTopics: "topics", resParts: "partitions" },
  61: { reqTopics: "topics", reqParts: "partitionIndexes", reqIndex: null, resTopics: "topics", resParts: "partitions" },
};

/**
 * Group requests: how to read the group ids (one per item of the request's `reqList`, in order), and the answer's
 * array to merge when split by coordinator (null: never split).
 */
const GROUP_APIS: Record<number, { keys: (b: any) => string[]; reqList: string | null; resList: string | null }> = {
  8: { keys: (b) => [b.groupId], reqList: null, resList: null },
  9: { keys: (b) => (b.groups ? b.groups.map((g: any) => g.groupId) : [b.groupId]), reqList: "groups", resList: "groups" },
  11: { keys: (b) => [b.groupId], reqList: null, resList: null },
  12: { keys: (b) => [b.groupId], reqList: null, resList: null },
  13: { keys: (b) => [b.groupId], reqList: null, resList: null },
  14: { keys: (b) => [b.groupId], reqList: null, resList: null },
  15: { keys: (b) => b.groups, reqList: "groups", resList: "groups" },
  28: { keys: (b) => [b.groupId], reqList: null, resList: null },
  42: { keys: (b) => b.groupsNames, reqList: "groupsNames", resList: "results" },
  47: { keys: (b) => [b.groupId], reqList: null, resList: null },
  68: { keys: (b) => [b.groupId], reqList: null, resList: null },
  69: { keys: (b) => b.groupIds, reqList: "groupIds", resList: "groups" },
};

/** Transaction requests: the transactional ids (none: not transactional, sent to the first broker). */
const TXN_APIS: Record<number, { keys: (b: any) => string[]; reqList: string | null; resList: string | null }> = {
  22: { keys: (b) => (b.transactionalId === null || b.transactionalId === undefined ? [] : [b.transactionalId]), reqList: null, resList: null },
  24: { keys: (b) => (b.transactions ? b.transactions.map((t: any) => t.transactionalId) : [b.v3AndBelowTransactionalId]), reqList: null, resList: null },
  25: { keys: (b) => [b.transactionalId], reqList: null, resList: null },
  26: { keys: (b) => [b.transactionalId], reqList: null, resList: null },
  65: { keys: (b) => b.transactionalIds, reqList: "transactionalIds", resList: "transactionStates" },
};

/** Requests every broker answers for its own share (answers merged by the key given). */
const ALL_BROKER_APIS: Record<number, { list: string; key: string }> = {
  16: { list: "groups", key: "groupId" },
  66: { list: "transactionStates", key: "transactionalId" },
};

const hex = (id: Uint8Array) => Buffer.from(id).toString("hex");

/** Routes a scenario's requests over the brokers of a cluster (see the file comment). */
export class ClusterRoutingClient {
  /** Drop request fields a version cannot carry (as RawClient.lenient). */
  lenient = false;
  /** Longest a request waits for its answer (ms; as RawClient.timeoutMs). */
  timeoutMs = 0;
  private readonly ports: ReadonlyMap<number, number>;
  private readonly home: number;
  private readonly conns = new Map<number, Promise<RawClient>>();
  private lookup: Promise<RawClient> | null = null;
  /** Fetch sessions by the id the scenario sees: the brokers holding them and each one's own session id. */
  private readonly sessions = new Map<number, { node: number; id: number }[]>();

  /** `ports`: node id to port; `home`: the node that answers everything not routed elsewhere. */
  constructor(ports: ReadonlyMap<number, number>, home: number) {
    this.ports = ports;
    this.home = home;
  }

  /** Sends a request where a Kafka client would and decodes the (merged) answer. */
  async request<T = any>(apiKey: number, version: number, body: any): Promise<T> {
    if (apiKey in PARTITION_APIS) return (await this.byPartition(apiKey, version, body)) as T;
    const keyed = GROUP_APIS[apiKey] ?? TXN_APIS[apiKey];
    if (keyed) {
      const keys = keyed.keys(body).filter((k) => typeof k === "string");
      if (keys.length === 0) return this.send(this.home, apiKey, version, body);
      const nodes = await Promise.all(keys.map((k) => this.coordinator(apiKey in GROUP_APIS ? 0 : 1, k)));
      const distinct = [...new Set(nodes)];
      if (distinct.length === 1 || keyed.reqList === null || keyed.resList === null) return this.send(nodes[0], apiKey, version, body);
      // the request's own list items (names or structs, one per key, in order) that coordinator `n` serves
      const list: unknown[] = body[keyed.reqList];
      const answers = await Promise.all(distinct.map((n) => this.send(n, apiKey, version, { ...body, [keyed.reqList!]: list.filter((_, i) => nodes[i] === n) })));
      return { ...answers[0], [keyed.resList]: answers.flatMap((a: any) => a[keyed.resList!]) } as T;
    }
    if (apiKey === 35 && body.topics?.length > 0) return this.describeLogDirs(version, body);
    const all = ALL_BROKER_APIS[apiKey];
    if (all) {
      const answers: any[] = await Promise.all([...this.ports.keys()].map((n) => this.send(n, apiKey, version, body)));
      const seen = new Map<string, unknown>();
      for (const a of answers) for (const x of a[all.list]) if (!seen.has(x[all.key])) seen.set(x[all.key], x);
      return { ...answers[0], errorCode: answers.find((a) => a.errorCode !== 0)?.errorCode ?? 0, [all.list]: [...seen.values()] } as T;
    }
    return this.send(this.home, apiKey, version, body);
  }

  /** Closes every connection. */
  close(): void {
    for (const c of [...this.conns.values(), ...(this.lookup ? [this.lookup] : [])]) void c.then((x) => x.close(), () => {});
    this.conns.clear();
    this.lookup = null;
  }

  private connect(port: number): Promise<RawClient> {
    return RawClient.connect(port).then((c) => {
      c.lenient = this.lenient;
      c.timeoutMs = this.timeoutMs;
      return c;
    });
  }

  private conn(node: number): Promise<RawClient> {
    let c = this.conns.get(node);
    if (c === undefined) {
      const port = this.ports.get(node);
      if (port === undefined) throw new Error(`no broker ${node} in the cluster`);
      c = this.connect(port);
      this.conns.set(node, c);
    }
    return c;
  }

  private async send(node: number, apiKey: number, version: number, body: unknown): Promise<any> {
    return (await this.conn(node)).request(apiKey, version, body);
  }

  /** A separate connection for routing look-ups (so they never queue behind a scenario's long poll). */
  private lookupConn(): Promise<RawClient> {
    return (this.lookup ??= this.connect(this.ports.get(this.home)!));
  }

  /** The node FindCoordinator names for a group (0) or transactional id (1); the home node when it names none. */
  private async coordinator(keyType: number, key: string): Promise<number> {
    const r = await (await this.lookupConn()).request(10, 4, { keyType, coordinatorKeys: [key] });
    const c = r.coordinators[0];
    return c.errorCode === 0 && this.ports.has(c.nodeId) ? c.nodeId : this.home;
  }

  /** Leaders by topic name and by topic id (hex), from the home broker's Metadata. */
  private async leaders(): Promise<{ byName: Map<string, number[]>; nameById: Map<string, string> }> {
    const md = await (await this.lookupConn()).request(3, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    const byName = new Map<string, number[]>();
    const nameById = new Map<string, string>();
    for (const t of md.topics) {
      if (t.errorCode !== 0) continue;
      const l: number[] = [];
      for (const p of t.partitions) l[p.partitionIndex] = p.leaderId;
      byName.set(t.name, l);
      nameById.set(hex(t.topicId), t.name);
    }
    return { byName, nameById };
  }

  private async byPartition(apiKey: number, version: number, body: any): Promise<any> {
    const shape = PARTITION_APIS[apiKey];
    const { byName, nameById } = await this.leaders();
    const nodeOf = (topic: any, idx: number): number => {
      const name = topic.name || topic.topic || (topic.topicId ? nameById.get(hex(topic.topicId)) : undefined);
      const leader = name === undefined ? undefined : byName.get(name)?.[idx];
      return leader !== undefined && this.ports.has(leader) ? leader : this.home;
    };
    /** `topics` split by the leader of each partition (`parts`/`index` say where the partitions are). */
    const splitByLeader = (topics: any[] | null | undefined, parts: string, index: string | null): Map<number, any[]> => {
      const split = new Map<number, any[]>();
      for (const t of topics ?? []) {
        for (const p of t[parts]) {
          const n = nodeOf(t, index === null ? p : p[index]);
          let list = split.get(n);
          if (list === undefined) split.set(n, (list = []));
          let entry = list.find((x) => x.__from === t);
          if (entry === undefined) list.push((entry = { ...t, [parts]: [], __from: t }));
          entry[parts].push(p);
        }
      }
      for (const list of split.values()) for (const e of list) delete e.__from;
      return split;
    };
    const split = splitByLeader(body[shape.reqTopics], shape.reqParts, shape.reqIndex);

    // An incremental fetch goes to every broker of its session, each with its own session id and partitions.
    const session = apiKey === 1 && body.sessionId > 0 ? this.sessions.get(body.sessionId) : undefined;
    if (session !== undefined) {
      const forgotten = splitByLeader(body.forgottenTopicsData, "partitions", null);
      const answers = await Promise.all(session.map((x, i) => this.send(x.node, apiKey, version, {
        ...body,
        sessionId: x.id,
        [shape.reqTopics]: [...(split.get(x.node) ?? []), ...(i === 0 ? [...split].filter(([n]) => !session.some((y) => y.node === n)).flatMap(([, t]) => t) : [])],
        forgottenTopicsData: forgotten.get(x.node) ?? [],
      })));
      if (body.sessionEpoch === -1) this.sessions.delete(body.sessionId);
      return { ...this.merge(shape, answers), sessionId: answers[0].sessionId === session[0].id ? body.sessionId : answers[0].sessionId };
    }

    const nodes = split.size === 0 ? [this.home] : [...split.keys()];
    const answers = nodes.length === 1
      ? [await this.send(nodes[0], apiKey, version, body)]
      : await Promise.all(nodes.map((n) => this.send(n, apiKey, version, { ...body, [shape.reqTopics]: split.get(n)! })));
    // A new fetch session: remember which brokers hold it (the scenario sees the first broker's id).
    if (apiKey === 1 && body.sessionId === 0 && body.sessionEpoch === 0 && answers[0].sessionId > 0) {
      this.sessions.set(answers[0].sessionId, nodes.map((node, i) => ({ node, id: answers[i].sessionId })));
    }
    return this.merge(shape, answers);
  }

  /**
   * DescribeLogDirs answers for the replicas a broker hosts: each partition named is asked of its leader (the only
   * replica at replication factor 1) and the brokers' topics are merged into the first log dir of the answer.
   */
  private async describeLogDirs(version: number, body: any): Promise<any> {
    const { byName } = await this.leaders();
    const split = new Map<number, any[]>();
    for (const t of body.topics) {
      for (const p of t.partitions) {
        const l = byName.get(t.topic)?.[p];
        const n = l !== undefined && this.ports.has(l) ? l : this.home;
        let list = split.get(n);
        if (list === undefined) split.set(n, (list = []));
        let e = list.find((x) => x.topic === t.topic);
        if (e === undefined) list.push((e = { ...t, partitions: [] }));
        e.partitions.push(p);
      }
    }
    const answers = await Promise.all([...split].map(([n, topics]) => this.send(n, 35, version, { ...body, topics })));
    if (answers.length === 1) return answers[0];
    const topics: any[] = [];
    for (const a of answers) {
      for (const d of a.results) {
        for (const t of d.topics) {
          const same = topics.find((x) => x.name === t.name);
          if (same) same.partitions = [...same.partitions, ...t.partitions];
          else topics.push({ ...t, partitions: [...t.partitions] });
        }
      }
    }
    const first = answers.find((a) => a.results.length > 0) ?? answers[0];
    return { ...first, results: first.results.map((d: any, i: number) => (i === 0 ? { ...d, topics } : d)) };
  }

  /** One answer from the answers of the brokers a partition request was split over. */
  private merge(shape: PartitionShape, answers: any[]): any {
    if (answers.length === 1) return answers[0];
    const merged: any[] = [];
    for (const a of answers) {
      for (const t of a[shape.resTopics]) {
        const key = (x: any) => x.name || x.topic || hex(x.topicId);
        const same = merged.find((m) => key(m) === key(t));
        if (same) same[shape.resParts] = [...same[shape.resParts], ...t[shape.resParts]];
        else merged.push({ ...t, [shape.resParts]: [...t[shape.resParts]] });
      }
    }
    return { ...answers[0], errorCode: answers.find((a) => a.errorCode)?.errorCode ?? answers[0].errorCode, [shape.resTopics]: merged };
  }
}
