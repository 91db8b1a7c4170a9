/**
 * The authorizer's decisions as Kafka makes them: super users, allow.everyone.if.no.acl.found only for resources
 * without any ACL, DENY over ALLOW, ALL, implied DESCRIBE, User:* and host matching, literal "*" and prefixes; and
 * DescribeAcls/DeleteAcls filter matching (ANY, MATCH, exact pattern types).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AclOperation as Op, AclPermission as P, Authorizer, filterMatches, PatternType as PT, ResourceType as R, type AclBinding } from "../../src/security/acl.ts";

const acl = (resourceName: string, patternType: number, principal: string, host: string, operation: number, permissionType: number, resourceType: number = R.TOPIC): AclBinding => ({ resourceType, resourceName, patternType, principal, host, operation, permissionType });
const alice = { principal: "User:alice", host: "10.0.0.1" };

test("authorizer: super users, no-ACL default, DENY wins, implied DESCRIBE, wildcards and hosts", () => {
  const acls = [
    acl("orders", PT.LITERAL, "User:alice", "*", Op.READ, P.ALLOW),
    acl("logs-", PT.PREFIXED, "User:*", "10.0.0.1", Op.WRITE, P.ALLOW),
    acl("logs-secret", PT.LITERAL, "User:alice", "*", Op.ALL, P.DENY),
    acl("*", PT.LITERAL, "User:bob", "*", Op.DESCRIBE, P.ALLOW),
  ];
  const strict = new Authorizer(() => acls, new Set(["User:root"]), false);
  assert.equal(strict.authorize(alice, Op.READ, R.TOPIC, "orders"), true);
  assert.equal(strict.authorize(alice, Op.DESCRIBE, R.TOPIC, "orders"), true, "READ implies DESCRIBE");
  assert.equal(strict.authorize(alice, Op.WRITE, R.TOPIC, "orders"), false);
  assert.equal(strict.authorize(alice, Op.WRITE, R.TOPIC, "logs-app"), true, "prefixed, User:*, matching host");
  assert.equal(strict.authorize({ ...alice, host: "10.0.0.2" }, Op.WRITE, R.TOPIC, "logs-app"), false, "other host");
  assert.equal(strict.authorize(alice, Op.WRITE, R.TOPIC, "logs-secret"), false, "literal DENY ALL beats the prefixed ALLOW");
  assert.equal(strict.authorize({ principal: "User:bob", host: "h" }, Op.DESCRIBE, R.TOPIC, "anything"), true, "literal * matches every name");
  assert.equal(strict.authorize(alice, Op.READ, R.TOPIC, "no-acl-here"), false, "the * ACL covers every topic, but only bob is allowed");
  assert.equal(strict.authorize({ principal: "User:root", host: "h" }, Op.ALTER, R.CLUSTER, "kafka-cluster"), true);
  assert.equal(strict.authorize(alice, Op.READ, R.GROUP, "g"), false, "no ACL at all: denied by default");
  const open = new Authorizer(() => acls, new Set(), true);
  assert.equal(open.authorize(alice, Op.READ, R.GROUP, "g"), true, "no ACL at all: allow.everyone.if.no.acl.found");
  assert.equal(open.authorize(alice, Op.WRITE, R.TOPIC, "orders"), false, "an ACL exists for orders: the default does not apply");
});

test("ACL filters: ANY, MATCH and exact pattern types", () => {
  const lit = acl("p-2", PT.LITERAL, "User:a", "*", Op.WRITE, P.DENY);
  const pre = acl("p-", PT.PREFIXED, "User:a", "*", Op.WRITE, P.ALLOW);
  const star = acl("*", PT.LITERAL, "User:a", "*", Op.READ, P.ALLOW);
  const f = (resourceNameFilter: string | null, patternTypeFilter: number, extra: object = {}) => ({ resourceTypeFilter: R.TOPIC, resourceNameFilter, patternTypeFilter, principalFilter: null, hostFilter: null, operation: Op.ANY, permissionType: P.ANY, ...extra });
  const which = (filter: ReturnType<typeof f>) => [lit, pre, star].filter((a) => filterMatches(filter, a)).map((a) => a.resourceName);
  assert.deepEqual(which(f("p-2", PT.MATCH)), ["p-2", "p-", "*"]);
  assert.deepEqual(which(f("p-2", PT.ANY)), ["p-2"]);
  assert.deepEqual(which(f(null, PT.PREFIXED)), ["p-"]);
  assert.deepEqual(which(f(null, PT.ANY, { permissionType: P.DENY })), ["p-2"]);
  assert.deepEqual(which(f(null, PT.ANY, { principalFilter: "User:b" })), []);
});
