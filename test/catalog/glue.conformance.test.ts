/** GlueCatalog passes the catalog conformance suite against the fake Glue server (real SDK client). */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { GlueCatalog } from '../../src/catalog/glue/glue-catalog.js';
import { catalogConformance } from './conformance.js';
import { startGlueFake, type GlueFake } from './glue-fake.js';

const CREDENTIALS = { accessKeyId: 'AKIDFLOETEST', secretAccessKey: 'floe-test-secret' };
let fake: GlueFake;
let paged: GlueFake;

before(async () => {
  fake = await startGlueFake();
  // Pages of 2 so that every listing in the suite crosses NextToken boundaries.
  paged = await startGlueFake({ maxPageSize: 2 });
});
after(async () => {
  await fake.stop();
  await paged.stop();
});

const features = { nestedNamespaces: false } as const;

catalogConformance(
  'GlueCatalog (fake Glue, local warehouse)',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'floe-gluecat-'));
    const catalog = new GlueCatalog({ endpoint: fake.endpoint, region: 'us-east-1', credentials: CREDENTIALS, warehouse: join(dir, 'warehouse') });
    return {
      catalog,
      cleanup: async () => {
        await catalog.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  features,
);

catalogConformance(
  'GlueCatalog (fake Glue with pages of 2, catalog id, memory:// warehouse)',
  () => {
    const catalog = new GlueCatalog({
      endpoint: paged.endpoint,
      region: 'ap-northeast-1',
      credentials: CREDENTIALS,
      catalogId: paged.accountId,
      warehouse: `memory://glue/${randomUUID()}`,
    });
    return { catalog, cleanup: () => catalog.close() };
  },
  features,
);
