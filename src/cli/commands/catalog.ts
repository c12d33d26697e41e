/**
 * `floe catalog serve`: an Iceberg REST catalog server over floe's catalog (the embedded SQLite
 * catalog unless `--catalog` names another), so Spark, Trino, DuckDB, PyIceberg and floe share the
 * same tables over the REST protocol. Binds 127.0.0.1 unless `--host` says otherwise, prints its
 * URL on stdout, and stops cleanly on SIGINT/SIGTERM.
 */
import { startRestCatalogServer } from '../../catalog/rest/rest-server.js';
import { list, pairs, parse, str, UsageError } from '../args.js';
import { CATALOG_OPTIONS, catalogFrom, catalogSettings } from '../context.js';
import type { CommandIO } from '../io.js';

/** The conventional port of Iceberg REST catalogs. */
export const DEFAULT_REST_PORT = 8181;

/** Usage text of `floe catalog`. */
export const CATALOG_USAGE = `usage: floe catalog serve [--port P] [--host H] [--prefix SEGMENT] [--table-config K=V]...
                          [--catalog URI] [--warehouse DIR] [--catalog-name NAME]
  Serves the catalog (default <warehouse>/catalog.db, warehouse ./warehouse) as an Iceberg REST
  catalog on http://127.0.0.1:${DEFAULT_REST_PORT} until SIGINT. --port 0 picks a free port.
  --table-config hands storage settings to clients with every table, e.g.
  s3.endpoint=http://127.0.0.1:4568 s3.path-style-access=true for an S3-compatible store.
  The server has no authentication: bind another --host only on a trusted network.`;

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
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
  const settings = catalogSettings(values, io.env);
  const catalog = await catalogFrom(values, io.env);
  try {
    const server = await startRestCatalogServer({
      catalog,
      port,
      host,
      ...(prefix ? { prefix } : {}),
      tableConfig,
      log: (line) => io.stderr(`${line}\n`),
    });
    io.stdout(`${server.url}\n`);
    io.stderr(
      `floe: Iceberg REST catalog on ${server.url}${prefix ? ` (prefix ${prefix})` : ''} serving ${settings.uri}\n` +
        (isLoopback(host) ? '' : `floe: warning: listening on ${host} without authentication\n`) +
        `      e.g. floe query --catalog ${server.url} "SELECT …"; Ctrl-C to stop\n`,
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
