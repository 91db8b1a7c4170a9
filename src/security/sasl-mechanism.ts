/** The contract of a server-side SASL mechanism (PLAIN, SCRAM): one token in, one token out, until a principal. */

/** One step's outcome: the token to send back, and the authenticated user name once the exchange is complete. */
export interface SaslStep {
  /** Bytes for the client (may be empty). */
  response: Uint8Array;
  /** The authenticated user name when this step completed the exchange, else null. */
  principal: string | null;
  /** How long the credential stays valid from now (an OAUTHBEARER token's expiry), when it is limited. */
  lifetimeMs?: number;
}

/** The server side of one SASL exchange. */
export interface SaslExchange {
  /** Consumes the client's next token; throws {@link SaslFailure} when authentication fails. */
  step(token: Uint8Array): SaslStep;
}

/** Authentication failed: `clientMessage` goes to the client, `logDetail` to the log; neither holds a secret. */
export class SaslFailure extends Error {
  constructor(
    /** The message in SaslAuthenticate's error_message. */
    readonly clientMessage: string,
    /** What went wrong, for the broker's log (no secrets). */
    readonly logDetail: string,
  ) {
    super(clientMessage);
  }
}
