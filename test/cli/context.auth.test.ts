import { test } from 'node:test';
import assert from 'node:assert/strict';
import { restAuthFromEnv } from '../../src/cli/context.js';

test('REST catalog auth comes from the environment', () => {
  assert.equal(restAuthFromEnv({}), undefined);
  assert.deepEqual(restAuthFromEnv({ FLOE_CATALOG_TOKEN: 't0k' }), { type: 'bearer', token: 't0k' });
  assert.deepEqual(restAuthFromEnv({ FLOE_CATALOG_CREDENTIAL: 'id:se:cret', FLOE_CATALOG_SCOPE: 'PRINCIPAL_ROLE:ALL' }), {
    type: 'oauth2',
    clientId: 'id',
    clientSecret: 'se:cret',
    scope: 'PRINCIPAL_ROLE:ALL',
  });
  assert.deepEqual(restAuthFromEnv({ FLOE_CATALOG_SIGV4_SIGNING_NAME: 'glue' }), { type: 'sigv4', signingName: 'glue' });
  assert.throws(() => restAuthFromEnv({ FLOE_CATALOG_CREDENTIAL: 'nocolon' }), /FLOE_CATALOG_CREDENTIAL/);
});
