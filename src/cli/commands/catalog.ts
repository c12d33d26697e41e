/**
 * `floe catalog serve`: an Iceberg REST catalog server over floe's catalog (the embedded SQLite
 * catalog unless `--catalog` names another), so Spark, Trino, DuckDB, PyIceberg and floe share the
 * same tables over the REST protocol. Binds 127.0.0.1 unless `--host` says otherwise, prints its
 * URL on stdout, and stops cleanly on SIGINT/SIGTERM.
 *
 * Authentication (a bearer token): `--token T` or `FLOE_CATALOG_TOKEN` (the variable floe's own
 * REST client sends), or `--auth` for a random one printed at start, as Jupyter does. On a
 * non-loopback `--host` a token is required: without one a random token is generated, unless
 * `--no-auth` says the server is meant to be open (behind an authenticating proxy).
 */
import { startRestCatalogServer } from '../../catalog/rest/rest-server.js';
import { generateToken, isLoopbackHost } from '../../catalog/rest/rest-server-guard.js';
import { list, pairs, parse, str, UsageError } from '../args.js';
import { CATALOG_OPTIONS, catalogFrom, catalogSettings } from '../context.js';
import type { CommandIO } from '../io.js';

/** The conventional port of Iceberg REST catalogs. */
export const DEFAULT_REST_PORT = 8181;

/** Usage text of `floe catalog`. */
export const CATALOG_USAGE = `usage: floe catalog serve [--port P] [--host H] [--prefix SEGMENT] [--table-config K=V]...
                          [--token T | --auth | --no-auth] [--allowed-host H]...
                          [--allow-external-locations]
                          [--catalog URI] [--warehouse DIR] [--catalog-name NAME]
  Serves the catalog (default <warehouse>/catalog.db, warehouse ./warehouse) as an Iceberg REST
  catalog on http://127.0.0.1:${DEFAULT_REST_PORT} until SIGINT. --port 0 picks a free port.
  --table-config hands storage settings to clients with every table, e.g.
  s3.endpoint=http://127.0.0.1:4568 s3.path-style-access=true for an S3-compatible store.
  Clients must send Authorization: Bearer <token> when the server has a token: --token T or
  FLOE_CATALOG_TOKEN sets it, --auth generates one and prints it. A --host other than loopback
  always gets a token (generated unless given) unless --no-auth. --allowed-host adds a Host
  name clients may use (a proxy's; name or name:port). --allow-external-locations accepts
  table and file locations outside the warehouse.`;

/**
 * The server's token (see the file comment); `generated` when floe made it up and must print it.
 */
function serverToken(values: Record<string, unknown>, env: NodeJS.ProcessEnv, host: string): { token: string | undefined; generated: boolean } {
  const flag = str(values, 'token');
  const noAuth = values['no-auth'] === true;
  const auth = values.auth === true;
  if ([flag !== undefined, noAuth, auth].filter(Boolean).length > 1) throw new UsageError('cli: give at most one of --token, --auth and --no-auth');
  if (flag !== undefined && !/^[\x21-\x7e]+$/.test(flag)) throw new UsageError('cli: --token must be non-empty printable ASCII without spaces');
  if (noAuth) return { token: undefined, generated: false };
  if (flag !== undefined) return { token: flag, generated: false };
  if (auth) return { token: generateToken(), generated: true };
  const fromEnv = env.FLOE_CATALOG_TOKEN;
  if (fromEnv) {
    if (!/^[\x21-\x7e]+$/.test(fromEnv)) throw new UsageError('cli: FLOE_CATALOG_TOKEN must be printable ASCII without spaces');
    return { token: fromEnv, generated: false };
  }
  if (!isLoopbackHost(host)) return { token: generateToken(), generated: true };
  return { token: undefined, generated: false };
}

/** Waits for SIGINT or SIGTERM. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

async function serve(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parse('catalog serve', argv, {
    ...CATALOG_OPTIONS,
    port: { type: 'string' },
    host: { type: 'string' },
    prefix: { type: 'string' },
    'table-config': { type: 'string', multiple: true },
    token: { type: 'string' },
    auth: { type: 'boolean' },
    'no-auth': { type: 'boolean' },
    'allowed-host': { type: 'string', multiple: true },
    'allow-external-locations': { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError(`cli: catalog serve takes no arguments, got '${positionals.join(' ')}'\n${CATALOG_USAGE}`);
  const portText = str(values, 'port') ?? String(DEFAULT_REST_PORT);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new UsageError(`cli: --port must be 0..65535, got '${portText}'`);
  const host = str(values, 'host') ?? '127.0.0.1';
  if (host.length === 0) throw new UsageError('cli: --host must not be empty');
  const prefix = str(values, 'prefix');
  if (prefix !== undefined && !/^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/.test(prefix)) {
    throw new UsageError(`cli: --prefix must be one or more URL path segments (letters, digits, . _ ~ -), got '${prefix}'`);
  }
  const tableConfig = Object.fromEntries(pairs('--table-config', list(values, 'table-config')));
  const { token, generated } = serverToken(values, io.env, host);
  const allowedHosts = list(values, 'allowed-host');
  for (const h of allowedHosts) {
    if (!/^(\*|[A-Za-z0-9.-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?)$/.test(h)) throw new UsageError(`cli: --allowed-host must be a host name, name:port, [ipv6]:port or *, got '${h}'`);
  }
  const allowExternal = values['allow-external-locations'] === true;
  const settings = catalogSettings(values, io.env);
  const catalog = await catalogFrom(values, io.env);
  try {
    const server = await startRestCatalogServer({
      catalog,
      port,
      host,
      ...(prefix ? { prefix } : {}),
      tableConfig,
      ...(token !== undefined ? { token } : { allowUnauthenticated: true }),
      allowedHosts,
      allowExternalLocations: allowExternal,
      log: (line) => io.stderr(`${line}\n`),
    });
    io.stdout(`${server.url}\n`);
    const example = token !== undefined ? `FLOE_CATALOG_TOKEN=${generated ? token : '…'} floe query --catalog ${server.url}` : `floe query --catalog ${server.url}`;
    io.stderr(
      `floe: Iceberg REST catalog on ${server.url}${prefix ? ` (prefix ${prefix})` : ''} serving ${settings.uri}\n` +
        (generated ? `floe: token (send Authorization: Bearer <token>): ${token}\n` : '') +
        (token === undefined && !isLoopbackHost(host) ? `floe: warning: listening on ${host} without authentication (--no-auth)\n` : '') +
        (allowExternal ? 'floe: warning: clients may name locations outside the warehouse (--allow-external-locations)\n' : '') +
        `      e.g. ${example} "SELECT …"; Ctrl-C to stop\n`,
    );
    const signal = await untilSignal();
    await server.close();
    io.stderr(`floe: REST catalog stopped (${signal})\n`);
    return 0;
  } finally {
    await catalog.close();
  }
}

/** Runs `floe catalog …`. */
export async function catalogCommand(argv: string[], io: CommandIO): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'serve') return serve(rest, io);
  throw new UsageError(sub ? `cli: unknown catalog subcommand '${sub}'\n${CATALOG_USAGE}` : `cli: catalog needs a subcommand\n${CATALOG_USAGE}`);
}
