/**
 * SASL PLAIN (RFC 4616) as Kafka serves it: one token `authzid NUL authcid NUL password`, checked against the
 * users of the listener's PlainLoginModule config. The authorization id, when given, must equal the user.
 */
import { constantTimeEqual } from "../platform/crypto.ts";
import { SaslFailure, type SaslExchange, type SaslStep } from "./sasl-mechanism.ts";

const FAILED = "Authentication failed: Invalid username or password";

/** The server side of one PLAIN exchange. */
export class PlainServer implements SaslExchange {
  private done = false;

  constructor(private readonly users: ReadonlyMap<string, string>) {}

  step(token: Uint8Array): SaslStep {
    if (this.done) throw new SaslFailure("PLAIN exchange already complete", "a second PLAIN token");
    this.done = true;
    const first = token.indexOf(0);
    const second = first < 0 ? -1 : token.indexOf(0, first + 1);
    if (first < 0 || second < 0 || token.indexOf(0, second + 1) >= 0) throw new SaslFailure("Invalid SASL/PLAIN response: expected 3 tokens", "malformed PLAIN token");
    const dec = new TextDecoder();
    const authzid = dec.decode(token.subarray(0, first));
    const user = dec.decode(token.subarray(first + 1, second));
    const password = token.subarray(second + 1);
    if (user === "") throw new SaslFailure("Authentication failed: username not specified", "empty PLAIN user name");
    if (password.length === 0) throw new SaslFailure("Authentication failed: password not specified", `empty password for user '${user}'`);
    if (authzid !== "" && authzid !== user) throw new SaslFailure("Authentication failed: Client requested an authorization id that is different from username", `authorization id differs from user '${user}'`);
    const expected = this.users.get(user);
    // Compare even for an unknown user so timing does not tell which names exist.
    const ok = constantTimeEqual(password, new TextEncoder().encode(expected ?? "")) && expected !== undefined;
    if (!ok) throw new SaslFailure(FAILED, expected === undefined ? `unknown user '${user}'` : `wrong password for user '${user}'`);
    return { response: new Uint8Array(0), principal: user };
  }
}
