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
import { CATALOG_FLAGS, catalogFrom, catalogSettings } from '../context.js';
import { renderGroup, renderUsage, type CommandGroup, type CommandSpec } from '../help.js';
import type { CommandIO } from '../io.js';
import { formatFor, formatLogLine, LOG_FLAGS, Logger, logSettings } from '../log.js';

/** The conventional port of Iceberg REST catalogs. */
export const DEFAULT_REST_PORT = 8181;

/** `floe catalog serve`: what it parses and what its help says. */
export const CATALOG_SERVE_SPEC: CommandSpec = {
  name: 'catalog serve',
  summary:
    `Serves the catalog (default <warehouse>/catalog.db, warehouse ./warehouse) as an Iceberg REST catalog on ` +
    `http://127.0.0.1:${DEFAULT_REST_PORT} until SIGINT/SIGTERM, for Spark, Trino, PyIceberg, DuckDB and floe. Prints its URL on stdout.`,
  flags: {
    port: { type: 'string', value: 'P', help: `the port (default ${DEFAULT_REST_PORT}; 0 picks a free one)` },
    host: { type: 'string', value: 'H', help: 'the address to bind (default 127.0.0.1); any non-loopback address gets a token unless --no-auth' },
    prefix: { type: 'string', value: 'SEGMENT', help: 'the path segment(s) after /v1/ that the server announces and serves (e.g. floe or a/b)' },
    'table-config': {
      type: 'string',
      multiple: true,
      value: 'K=V',
      help: 'storage settings handed to clients with every table, e.g. s3.endpoint=http://127.0.0.1:4568 s3.path-style-access=true',
    },
    token: { type: 'string', value: 'T', help: 'clients must send Authorization: Bearer T (default FLOE_CATALOG_TOKEN)' },
    auth: { type: 'boolean', help: 'generates a random token and prints it (as Jupyter does)' },
    'no-auth': { type: 'boolean', help: 'serves without a token even on a non-loopback --host (only behind a proxy that authenticates)' },
    'allowed-host': {
      type: 'string',
      multiple: true,
      value: 'H',
      help: 'another Host name clients may use (a proxy\'s; name, name:port, [ipv6]:port or *); others get 403',
    },
    'allow-external-locations': { type: 'boolean', help: 'accepts table, metadata and file locations outside the warehouse (refused by default)' },
    ...CATALOG_FLAGS,
    ...LOG_FLAGS,
  },
  notes: `Examples:
  floe catalog serve --warehouse warehouse
  floe catalog serve --catalog pyiceberg.db --catalog-name default --warehouse /data/wh
  FLOE_CATALOG_TOKEN=… floe query --catalog http://127.0.0.1:${DEFAULT_REST_PORT} "SELECT …"`,
};

/** `floe catalog` as a group. */
export const CATALOG_GROUP: CommandGroup = {
  name: 'catalog',
  summary: 'The catalog as a service.',
  subcommands: [CATALOG_SERVE_SPEC],
};

/** Usage text of `floe catalog`. */
export const CATALOG_USAGE = renderGroup(CATALOG_GROUP);

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
  const { values, positionals } = parse(CATALOG_SERVE_SPEC, argv);
  const logging = logSettings(values, io.env); // a bad level or format fails before any work
  if (positionals.length > 0) throw new UsageError(`cli: catalog serve takes no arguments, got '${positionals.join(' ')}'\n${renderUsage(CATALOG_SERVE_SPEC)}`);
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
  // The log is stderr (stdout carries the URL alone, for scripts).
  const format = formatFor(logging.format, io.stderrIsTTY ?? io.isTTY);
  const logger = new Logger({ level: logging.level, format, write: (t) => io.stderr(t) });
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
      log: (line, level) => logger.log(level ?? 'warn', line),
    });
    io.stdout(`${server.url}\n`);
    const example = token !== undefined ? `FLOE_CATALOG_TOKEN=${generated ? token : '…'} floe query --catalog ${server.url}` : `floe query --catalog ${server.url}`;
    const serving = `Iceberg REST catalog on ${server.url}${prefix ? ` (prefix ${prefix})` : ''} serving ${settings.uri}`;
    const open = token === undefined && !isLoopbackHost(host);
    if (format === 'text') {
      io.stderr(
        `floe: ${serving}\n` +
          (generated ? `floe: token (send Authorization: Bearer <token>): ${token}\n` : '') +
          (open ? `floe: warning: listening on ${host} without authentication (--no-auth)\n` : '') +
          (allowExternal ? 'floe: warning: clients may name locations outside the warehouse (--allow-external-locations)\n' : '') +
          `      e.g. ${example} "SELECT …"; Ctrl-C to stop\n`,
      );
    } else {
      // The start line whatever the level: the URL and a generated token are needed to use the server.
      io.stderr(
        formatLogLine('json', 'info', `catalog: ${serving}`, {
          url: server.url,
          catalog: settings.uri,
          ...(prefix ? { prefix } : {}),
          auth: token === undefined ? 'none' : 'bearer',
          ...(generated ? { token } : {}),
        }),
      );
      if (open) logger.log('warn', `catalog: listening on ${host} without authentication (--no-auth)`, { host });
      if (allowExternal) logger.log('warn', 'catalog: clients may name locations outside the warehouse (--allow-external-locations)');
    }
    const signal = await untilSignal();
    await server.close();
    if (format === 'text') io.stderr(`floe: REST catalog stopped (${signal})\n`);
    else logger.log('info', `catalog: REST catalog stopped (${signal})`, { signal });
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
