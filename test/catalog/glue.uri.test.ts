/**
 * Opening the Glue catalog: `glue:` URIs, the SDK's AWS_ENDPOINT_URL_GLUE / AWS_REGION
 * conventions, and the CLI (`floe table`, `floe query`) working on a Glue catalog end to end
 * against the fake Glue server.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GlueCatalog, isGlueUri, parseGlueUri } from '../../src/catalog/glue/glue-catalog.js';
import { openCatalog } from '../../src/catalog/open.js';
import { ValidationError } from '../../src/errors.js';
import { cliJson } from '../cli/helpers.js';
import { startGlueFake, type GlueFake } from './glue-fake.js';

describe('parseGlueUri', () => {
  it('reads the catalog id and parameters', () => {
    assert.deepEqual(parseGlueUri('glue:'), {});
    assert.deepEqual(parseGlueUri('glue://'), {});
    assert.deepEqual(parseGlueUri('glue://123456789012'), { catalogId: '123456789012' });
    assert.deepEqual(parseGlueUri('glue://123456789012?region=ap-northeast-1&skip-archive=false'), {
      catalogId: '123456789012',
      region: 'ap-northeast-1',
      skipArchive: false,
    });
    assert.deepEqual(parseGlueUri('glue:?endpoint=http://127.0.0.1:1234'), { endpoint: 'http://127.0.0.1:1234' });
    assert.ok(isGlueUri('GLUE://'));
    assert.ok(!isGlueUri('s3://glue'));
  });

  it('rejects what it cannot mean', () => {
    assert.throws(() => parseGlueUri('glue://my-account'), /12-digit AWS account id/);
    assert.throws(() => parseGlueUri('glue:?colour=red'), /unknown parameter 'colour'/);
    assert.throws(() => parseGlueUri('glue://123456789012?skip-archive=maybe'), ValidationError);
    assert.throws(() => parseGlueUri('glue://123456789012/db'), ValidationError);
  });
});

describe('Glue catalog from configuration', () => {
  let fake: GlueFake;
  let dir: string;

  before(async () => {
    fake = await startGlueFake();
    dir = await mkdtemp(join(tmpdir(), 'floe-glue-uri-'));
  });
  after(async () => {
    await fake.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('openCatalog opens Glue for glue: URIs and keeps an s3:// warehouse as given', async () => {
    const catalog = await openCatalog({ uri: `glue://${fake.accountId}?region=ap-northeast-1&endpoint=${fake.endpoint}`, warehouse: 's3://glue-streaming-iceberg-data-123456789012/warehouse' });
    try {
      assert.ok(catalog instanceof GlueCatalog);
      assert.equal(catalog.warehouse, 's3://glue-streaming-iceberg-data-123456789012/warehouse');
      assert.equal(catalog.catalogId, fake.accountId);
      assert.equal(catalog.name, 'awsdatacatalog');
      await catalog.createNamespace(['glue_streaming_iceberg_db']);
      assert.equal(fake.requestsOf('CreateDatabase').at(-1)?.body.CatalogId, fake.accountId);
    } finally {
      await catalog.close();
    }
  });

  it('follows AWS_ENDPOINT_URL_GLUE and AWS_REGION, signing for the glue service', async () => {
    const catalog = new GlueCatalog({ env: { AWS_ENDPOINT_URL_GLUE: fake.endpoint, AWS_REGION: 'eu-west-1', HOME: dir } });
    try {
      assert.ok((await catalog.listNamespaces()).some((n) => n[0] === 'glue_streaming_iceberg_db'));
      const last = fake.requests.at(-1)!;
      assert.equal(last.operation, 'GetDatabases');
      assert.equal(last.signingService, 'glue');
    } finally {
      await catalog.close();
    }
  });

  it('needs a region', () => {
    assert.throws(() => new GlueCatalog({ env: { HOME: dir } }), /no AWS region configured/);
  });

  it('serves the CLI: floe table create/list/describe and floe query on a Glue catalog', async () => {
    const uri = `glue:?region=us-east-1&endpoint=${encodeURIComponent(fake.endpoint)}`;
    const flags = ['--catalog', uri, '--warehouse', join(dir, 'wh')];
    await cliJson(['table', 'create', 'cli_db.events', '--schema', 'id long not null, name string', ...flags]);
    const stored = fake.table('cli_db', 'events')!;
    assert.equal((stored.Parameters as Record<string, string>).table_type, 'ICEBERG');
    assert.equal((stored.StorageDescriptor as { Location: string }).Location, join(dir, 'wh', 'cli_db.db', 'events'));
    assert.deepEqual(await cliJson(['table', 'list', 'cli_db', ...flags]), [{ namespace: 'cli_db', table: 'events' }]);
    const rows = await cliJson(['query', ...flags, 'SELECT count(*) AS n FROM cli_db.events']);
    assert.deepEqual(rows, [{ n: 0 }]);
  });
});
