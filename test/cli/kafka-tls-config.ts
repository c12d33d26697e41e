/**
 * The config of a `floe run` reading one topic through the TLS + SASL proxy of
 * `test/source/kafka-auth-proxy.ts` into a table `db.<name>` of one `id` column: what the
 * authentication tests vary is only the `sasl` block.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Writes `<dir>/<name>.yaml` (warehouse `<dir>/<name>`), with `sasl` lines under `source.sasl`. */
export async function writeTlsKafkaConfig(dir: string, name: string, bootstrap: string, caFile: string, sasl: string[]): Promise<{ path: string; warehouse: string }> {
  const warehouse = join(dir, name);
  const path = join(dir, `${name}.yaml`);
  await writeFile(
    path,
    [
      'source:',
      '  type: kafka',
      `  brokers: ${bootstrap}`,
      `  topics: [${name}]`,
      `  group: g-${name}`,
      '  session_timeout: 3s',
      '  ssl:',
      `    ca_file: ${caFile}`,
      '  sasl:',
      ...sasl.map((line) => `    ${line}`),
      'catalog:',
      `  warehouse: ${warehouse}`,
      'table:',
      `  name: db.${name}`,
      'transform:',
      '  columns:',
      '    id: { type: long, required: true }',
      'commit:',
      '  interval: 300ms',
      'maintenance: false',
      '',
    ].join('\n'),
  );
  return { path, warehouse };
}
