/** The S3 Tables catalog shorthand resolves to the documented endpoint, warehouse and signing name. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openCatalog } from '../../src/catalog/open.js';
import { RestCatalog } from '../../src/catalog/rest/rest-catalog.js';
import { isS3TablesUri, parseS3TablesUri, s3TablesRestOptions } from '../../src/catalog/s3tables.js';
import { ValidationError } from '../../src/errors.js';

const ARN = 'arn:aws:s3tables:ap-northeast-1:111122223333:bucket/glue-streaming-iceberg-tables';

describe('parseS3TablesUri', () => {
  it('takes everything from a table bucket ARN', () => {
    const t = parseS3TablesUri(ARN, {});
    assert.deepEqual(t, {
      bucketArn: ARN,
      bucket: 'glue-streaming-iceberg-tables',
      region: 'ap-northeast-1',
      accountId: '111122223333',
      partition: 'aws',
      endpoint: 'https://s3tables.ap-northeast-1.amazonaws.com/iceberg',
      signingName: 's3tables',
    });
  });

  it('uses the partition of the ARN for the endpoint', () => {
    const t = parseS3TablesUri('arn:aws-cn:s3tables:cn-north-1:111122223333:bucket/tables-cn', {});
    assert.equal(t.endpoint, 'https://s3tables.cn-north-1.amazonaws.com.cn/iceberg');
    assert.equal(t.bucketArn, 'arn:aws-cn:s3tables:cn-north-1:111122223333:bucket/tables-cn');
  });

  it('builds the ARN of s3tables://<bucket> from region and account (parameters, then environment)', () => {
    assert.equal(parseS3TablesUri('s3tables://my-bucket?region=us-east-1&account=111122223333', {}).bucketArn, 'arn:aws:s3tables:us-east-1:111122223333:bucket/my-bucket');
    const fromEnv = parseS3TablesUri('s3tables://my-bucket', { AWS_REGION: 'eu-west-1', AWS_ACCOUNT_ID: '444455556666' });
    assert.equal(fromEnv.bucketArn, 'arn:aws:s3tables:eu-west-1:444455556666:bucket/my-bucket');
    assert.equal(fromEnv.endpoint, 'https://s3tables.eu-west-1.amazonaws.com/iceberg');
  });

  it('follows AWS_ENDPOINT_URL_S3TABLES (service endpoint + /iceberg); ?endpoint= is the full REST URI', () => {
    assert.equal(parseS3TablesUri(ARN, { AWS_ENDPOINT_URL_S3TABLES: 'http://127.0.0.1:9000/' }).endpoint, 'http://127.0.0.1:9000/iceberg');
    assert.equal(parseS3TablesUri(ARN, { AWS_ENDPOINT_URL: 'http://127.0.0.1:9001' }).endpoint, 'http://127.0.0.1:9001/iceberg');
    assert.equal(
      parseS3TablesUri('s3tables://b-1?region=us-east-1&account=111122223333&endpoint=http://127.0.0.1:1/rest', {}).endpoint,
      'http://127.0.0.1:1/rest',
    );
  });

  it('explains what is missing or malformed', () => {
    assert.throws(() => parseS3TablesUri('s3tables://my-bucket', { AWS_REGION: 'us-east-1' }), /account is unknown \(use the bucket ARN/);
    assert.throws(() => parseS3TablesUri('s3tables://my-bucket', {}), /no region/);
    assert.throws(() => parseS3TablesUri('arn:aws:s3tables:us-east-1:111122223333:table/x', {}), ValidationError);
    assert.throws(() => parseS3TablesUri('arn:aws:s3tables:us-east-1:1234:bucket/x', {}), ValidationError);
    assert.throws(() => parseS3TablesUri('s3tables://Bad_Name?region=us-east-1&account=111122223333', {}), /not a valid table bucket name/);
    assert.throws(() => parseS3TablesUri('s3tables://ok-name?colour=red', {}), /unknown parameter 'colour'/);
  });

  it('recognises only S3 Tables URIs', () => {
    assert.ok(isS3TablesUri(ARN));
    assert.ok(isS3TablesUri('s3tables://b'));
    assert.ok(!isS3TablesUri('s3://bucket/warehouse'));
    assert.ok(!isS3TablesUri('arn:aws:s3:::bucket'));
  });
});

describe('S3 Tables catalog', () => {
  it('is the REST client at the endpoint, with the bucket ARN as warehouse and SigV4 as s3tables', () => {
    const options = s3TablesRestOptions(parseS3TablesUri(ARN, {}), { env: {} });
    assert.equal(options.uri, 'https://s3tables.ap-northeast-1.amazonaws.com/iceberg');
    assert.equal(options.warehouse, ARN);
    assert.equal(options.name, 'glue-streaming-iceberg-tables');
    assert.deepEqual(options.auth, { type: 'sigv4', signingName: 's3tables', region: 'ap-northeast-1', env: {} });
  });

  it('opens from a catalog URI through openCatalog', async () => {
    const catalog = await openCatalog({ uri: ARN });
    try {
      assert.ok(catalog instanceof RestCatalog);
      assert.equal(catalog.uri, 'https://s3tables.ap-northeast-1.amazonaws.com/iceberg');
      assert.equal(catalog.name, 'glue-streaming-iceberg-tables');
    } finally {
      await catalog.close();
    }
  });
});
