/**
 * The server side of the SASL mechanisms a Kafka broker offers to floe's clients, for the test
 * proxy `kafka-auth-proxy.ts`: PLAIN (RFC 4616) and SCRAM-SHA-256/512 (RFC 5802, RFC 7677), as
 * Kafka's `PlainSaslServer` and `ScramSaslServer` run them, strict about the grammar:
 * - PLAIN: exactly `authzid \0 authcid \0 passwd`; an authzid other than empty or the user fails.
 * - SCRAM: client-first `gs2-header client-first-bare` (`n,,` or `y,,`; channel binding `p=`
 *   and mandatory extensions `m=` refused; `=2C`/`=3D` the only escapes in a name), server-first
 *   with a fresh nonce appended to the client's, the salt and the iterations (4096, Kafka's
 *   minimum), client-final `c=<base64 of the gs2 header> ,r=<the whole nonce> ,p=<proof>`
 *   verified against the stored key (the password is never kept, as Kafka keeps only
 *   salt, iterations, StoredKey and ServerKey), server-final `v=<server signature>`.
 * The nonce of client-final must equal the server's exactly (RFC 5802). Kafka's ScramSaslServer
 * long compared it with `endsWith`, which let through librdkafka's client nonce sent twice
 * (`c=…,r=<client nonce><client nonce><server nonce>`, as Debian's kcat, librdkafka 2.0.2, does):
 * that client fails SCRAM here, with "nonce mismatch"; kafkajs sends the nonce as the RFC says.
 * Passwords are taken as UTF-8 without SASLprep (Kafka's ScramFormatter does the same).
 * - OAUTHBEARER (RFC 7628), only when the server is given a token verifier (Amazon MSK IAM:
 *   `kafka-msk-iam-verifier.ts`): one client message, parsed as Kafka's
 *   `OAuthBearerClientInitialResponse` does: `n,` [`a=` authzid] `,` `\x01` then `key=value\x01`
 *   pairs (`auth=Bearer <token>` required, keys letters only, values printable ASCII, space, tab,
 *   CR, LF), then a final `\x01`; anything else fails. The token goes to the verifier; an authzid
 *   other than the token's principal fails. A refused token fails at once with error 58, as MSK
 *   answers (Kafka's own OAUTHBEARER server first sends an RFC 7628 error challenge and fails on
 *   the client's next message; kafkajs, which never reads the challenge, would take that for
 *   success and be disconnected at its next request).
 * A failure throws {@link SaslFailure} with the message a Kafka broker puts in the
 * SaslAuthenticate response (error 58).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/** The mechanisms this server knows (Kafka's names). */
export type SaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'OAUTHBEARER';

/**
 * Checks an OAUTHBEARER token: returns the principal and when the credential expires (for a
 * KIP-368 session lifetime), or throws {@link SaslFailure} with the broker's message.
 */
export type OAuthBearerVerifier = (token: string) => { principal: string; expiresAtMs?: number };

/** Authentication failed: `message` is what the broker answers (SaslAuthenticate error 58). */
export class SaslFailure extends Error {}

/** One client's exchange: each token of the client in, the server's token out. */
export interface SaslExchange {
  /** The server's answer to the client's next token; `done` once the client is authenticated. Throws {@link SaslFailure}. */
  step(token: Buffer): { response: Buffer; done: boolean };
  /** The authenticated user (after `done`). */
  readonly user: string | undefined;
  /** When the authenticated credential expires (OAUTHBEARER), ms since the epoch. */
  readonly expiresAtMs?: number | undefined;
}

/** What a SCRAM server stores for a user (Kafka's `ScramCredential`). */
interface ScramCredential {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

type Hash = 'sha256' | 'sha512';
const HASH_LEN: Record<Hash, number> = { sha256: 32, sha512: 64 };
const hmac = (hash: Hash, key: Buffer, data: string | Buffer): Buffer => createHmac(hash, key).update(data).digest();

/** Kafka's minimum (and default) SCRAM iteration count. */
export const SCRAM_ITERATIONS = 4096;

function scramCredential(hash: Hash, password: string, salt: Buffer): ScramCredential {
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, SCRAM_ITERATIONS, HASH_LEN[hash], hash);
  const clientKey = hmac(hash, salted, 'Client Key');
  return { salt, iterations: SCRAM_ITERATIONS, storedKey: createHash(hash).update(clientKey).digest(), serverKey: hmac(hash, salted, 'Server Key') };
}

/**
 * The users of a server: name → password, turned into each mechanism's stored form once.
 * `fixed` pins the salt and the server's nonce part (only to check the exchange against the
 * RFC 7677 example); by default both are random. `oauthBearer` is the token verifier that
 * enables OAUTHBEARER (without it, asking for OAUTHBEARER is a test's mistake: it throws).
 */
export class SaslUsers {
  private readonly scram = new Map<string, Map<string, ScramCredential>>();
  constructor(
    private readonly passwords: Readonly<Record<string, string>>,
    private readonly fixed: { salt?: Buffer; serverNonce?: string; oauthBearer?: OAuthBearerVerifier } = {},
  ) {
    for (const hash of ['sha256', 'sha512'] as const) {
      const m = new Map<string, ScramCredential>();
      for (const [user, password] of Object.entries(passwords)) m.set(user, scramCredential(hash, password, fixed.salt ?? randomBytes(16)));
      this.scram.set(hash, m);
    }
  }

  /** A new exchange of `mechanism`. */
  exchange(mechanism: SaslMechanism): SaslExchange {
    if (mechanism === 'PLAIN') return new PlainExchange(this.passwords);
    if (mechanism === 'OAUTHBEARER') {
      if (!this.fixed.oauthBearer) throw new Error('kafka-sasl-server: OAUTHBEARER needs a token verifier');
      return new OAuthBearerExchange(this.fixed.oauthBearer);
    }
    const hash: Hash = mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
    return new ScramExchange(mechanism, hash, this.scram.get(hash)!, this.fixed.serverNonce);
  }
}

class PlainExchange implements SaslExchange {
  user: string | undefined;
  private used = false;
  constructor(private readonly passwords: Readonly<Record<string, string>>) {}

  step(token: Buffer): { response: Buffer; done: boolean } {
    if (this.used) throw new SaslFailure('Authentication failed: PLAIN takes one message');
    this.used = true;
    // Kafka's PlainSaslServer: the message must be valid UTF-8 and split into exactly 3 tokens.
    const text = new TextDecoder('utf-8', { fatal: true }).decode(token);
    const parts = text.split('\u0000');
    if (parts.length !== 3) throw new SaslFailure('Invalid SASL/PLAIN response: expected 3 tokens, got ' + parts.length);
    const [authzid, user, password] = parts as [string, string, string];
    if (user === '') throw new SaslFailure('Authentication failed: username not specified');
    if (password === '') throw new SaslFailure('Authentication failed: password not specified');
    if (authzid !== '' && authzid !== user) throw new SaslFailure('Authentication failed: Client requested an authorization id that is different from username');
    const expected = this.passwords[user];
    if (expected === undefined || !equalText(expected, password)) throw new SaslFailure('Authentication failed: Invalid username or password');
    this.user = user;
    return { response: Buffer.alloc(0), done: true };
  }
}

function equalText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `printable` of RFC 5802 (a nonce): %x21-2B / %x2D-7E. */
const NONCE_RE = /^[\x21-\x2b\x2d-\x7e]+$/;
/** `saslname`: UTF-8 without `,` and `=` except the escapes `=2C` and `=3D`. */
const SASLNAME_RE = /^(?:[^,=]|=2C|=3D)+$/;
/** Canonical base64 (RFC 4648: padded, zero pad bits), or undefined: Node's decoder takes anything. */
function strictBase64(text: string): Buffer | undefined {
  const b = Buffer.from(text, 'base64');
  return b.toString('base64') === text ? b : undefined;
}
/** An extension `attr=value` (RFC 5802 `attr-val`; Kafka's `tokenauth=true`). */
const EXTENSION_RE = /^[A-Za-z][A-Za-z0-9]*=[^,]*$/;

class ScramExchange implements SaslExchange {
  user: string | undefined;
  private state: 'first' | 'final' | 'done' = 'first';
  private gs2Header = '';
  private nonce = '';
  private clientFirstBare = '';
  private serverFirst = '';
  private credential: ScramCredential | undefined;

  constructor(
    private readonly mechanism: SaslMechanism,
    private readonly hash: Hash,
    private readonly users: ReadonlyMap<string, ScramCredential>,
    private readonly serverNonce: string | undefined,
  ) {}

  /** What Kafka answers to a bad proof or an unknown user. */
  private invalid(): SaslFailure {
    return new SaslFailure(`Authentication failed during authentication due to invalid credentials with SASL mechanism ${this.mechanism}`);
  }

  step(token: Buffer): { response: Buffer; done: boolean } {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(token);
    } catch {
      throw new SaslFailure('Authentication failed: SCRAM message is not UTF-8');
    }
    if (this.state === 'first') return { response: Buffer.from(this.first(text), 'utf8'), done: false };
    if (this.state === 'final') return { response: Buffer.from(this.final(text), 'utf8'), done: true };
    throw new SaslFailure('Authentication failed: SCRAM exchange already complete');
  }

  private first(text: string): string {
    // gs2-header = gs2-cbind-flag "," [ authzid ] ","
    const m = /^(n|y|p=[A-Za-z0-9.-]+),(a=[^,]*)?,/.exec(text);
    if (!m) throw new SaslFailure('Invalid SCRAM client first message: bad gs2 header');
    if (m[1]!.startsWith('p=')) throw new SaslFailure('Invalid SCRAM client first message: channel binding is not supported');
    this.gs2Header = m[0];
    this.clientFirstBare = text.slice(m[0].length);
    const attrs = this.clientFirstBare.split(',');
    if (attrs[0]?.startsWith('m=')) throw new SaslFailure('Invalid SCRAM client first message: mandatory extension not supported');
    const [n, r, ...extensions] = attrs;
    if (!n?.startsWith('n=') || !SASLNAME_RE.test(n.slice(2))) throw new SaslFailure('Invalid SCRAM client first message: bad username');
    if (!r?.startsWith('r=') || !NONCE_RE.test(r.slice(2))) throw new SaslFailure('Invalid SCRAM client first message: bad nonce');
    for (const e of extensions) if (!EXTENSION_RE.test(e)) throw new SaslFailure(`Invalid SCRAM client first message: bad extension ${JSON.stringify(e)}`);
    const user = n.slice(2).replace(/=2C/g, ',').replace(/=3D/g, '=');
    const authzid = m[2]?.slice(2);
    if (authzid !== undefined && authzid.replace(/=2C/g, ',').replace(/=3D/g, '=') !== user) {
      throw new SaslFailure('Authentication failed: Client requested an authorization id that is different from username');
    }
    const credential = this.users.get(user);
    if (!credential) throw this.invalid();
    this.credential = credential;
    this.user = user;
    this.nonce = r.slice(2) + (this.serverNonce ?? randomBytes(18).toString('base64').replace(/[+/=,]/g, 'x'));
    this.serverFirst = `r=${this.nonce},s=${credential.salt.toString('base64')},i=${credential.iterations}`;
    this.state = 'final';
    return this.serverFirst;
  }

  private final(text: string): string {
    // client-final-message = channel-binding "," nonce ["," extensions] "," proof
    const attrs = text.split(',');
    const c = attrs[0];
    const r = attrs[1];
    const p = attrs[attrs.length - 1];
    if (attrs.length < 3 || !c?.startsWith('c=') || !r?.startsWith('r=') || !p?.startsWith('p=')) throw new SaslFailure('Invalid SCRAM client final message: expected c=,r=,...,p=');
    for (const e of attrs.slice(2, -1)) if (!EXTENSION_RE.test(e)) throw new SaslFailure(`Invalid SCRAM client final message: bad extension ${JSON.stringify(e)}`);
    if (strictBase64(c.slice(2))?.toString('latin1') !== this.gs2Header) {
      throw new SaslFailure('Invalid SCRAM client final message: channel binding does not match the gs2 header');
    }
    if (r.slice(2) !== this.nonce) throw new SaslFailure('Invalid SCRAM client final message: nonce mismatch');
    const proof = strictBase64(p.slice(2));
    if (proof === undefined) throw new SaslFailure('Invalid SCRAM client final message: the proof is not canonical base64');
    if (proof.length !== HASH_LEN[this.hash]) throw this.invalid();
    const cred = this.credential!;
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${text.slice(0, text.length - p.length - 1)}`;
    const clientSignature = hmac(this.hash, cred.storedKey, authMessage);
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ clientSignature[i]!;
    if (!timingSafeEqual(createHash(this.hash).update(clientKey).digest(), cred.storedKey)) throw this.invalid();
    this.state = 'done';
    return `v=${hmac(this.hash, cred.serverKey, authMessage).toString('base64')}`;
  }
}

/** Kafka's `OAuthBearerClientInitialResponse` grammar (RFC 7628 §3.1 as Kafka restricts it). */
const OAUTH_SASLNAME = '(?:[\\x01-\\x2b\\x2d-\\x3c\\x3e-\\x7f]|=2C|=3D)+';
const OAUTH_KVPAIRS = '(?:[A-Za-z]+=[\\x21-\\x7e \\t\\r\\n]+\\x01)*';
const OAUTH_CLIENT_FIRST_RE = new RegExp(`^n,(?:a=(${OAUTH_SASLNAME}))?,\\x01(${OAUTH_KVPAIRS})\\x01$`);
/** Kafka's `auth` value: a scheme, spaces, a token of base64url and `.` characters. */
const OAUTH_AUTH_RE = /^(\w+) +([-_.a-zA-Z0-9]+)$/;

class OAuthBearerExchange implements SaslExchange {
  user: string | undefined;
  expiresAtMs: number | undefined;
  private used = false;
  constructor(private readonly verify: OAuthBearerVerifier) {}

  step(token: Buffer): { response: Buffer; done: boolean } {
    if (this.used) throw new SaslFailure('Authentication failed: OAUTHBEARER takes one message');
    this.used = true;
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(token);
    } catch {
      throw new SaslFailure('Invalid OAUTHBEARER client first message: not UTF-8');
    }
    const m = OAUTH_CLIENT_FIRST_RE.exec(text);
    if (!m) throw new SaslFailure('Invalid OAUTHBEARER client first message');
    const authzid = m[1]?.replace(/=2C/g, ',').replace(/=3D/g, '=');
    const pairs = new Map<string, string>();
    for (const kv of m[2]!.split('\x01').slice(0, -1)) {
      const eq = kv.indexOf('=');
      const key = kv.slice(0, eq);
      if (pairs.has(key)) throw new SaslFailure(`Invalid OAUTHBEARER client first message: duplicate key ${JSON.stringify(key)}`);
      pairs.set(key, kv.slice(eq + 1));
    }
    const auth = pairs.get('auth');
    if (auth === undefined) throw new SaslFailure("Invalid OAUTHBEARER client first message: 'auth' not specified");
    const a = OAUTH_AUTH_RE.exec(auth);
    if (!a) throw new SaslFailure("Invalid OAUTHBEARER client first message: invalid 'auth' format");
    if (a[1]!.toLowerCase() !== 'bearer') throw new SaslFailure(`Invalid scheme in OAUTHBEARER client first message: ${a[1]}`);
    const { principal, expiresAtMs } = this.verify(a[2]!);
    if (authzid !== undefined && authzid !== principal) {
      throw new SaslFailure(`Authentication failed: Client requested an authorization id (${authzid}) that is different from the token's principal name (${principal})`);
    }
    this.user = principal;
    this.expiresAtMs = expiresAtMs;
    return { response: Buffer.alloc(0), done: true };
  }
}
