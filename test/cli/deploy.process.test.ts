/**
 * `floe deploy` / `floe destroy` (as processes where the machine's environment matters): `--dry-run` writes the template and prints the AWS
 * CLI command with no credentials at all; missing credentials or region fail before any request
 * with a message saying what to set; against a CloudFormation stand-in on 127.0.0.1 the stack is
 * created (outputs printed), found up to date, deleted (what stays is said), and a failed creation
 * names the failed resource and then refuses to update the rolled-back stack.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { validateConfig } from '../../src/pipeline/config.js';
import { synthesizeTemplate } from '../../src/deploy/template.js';
import { repoRoot } from '../helpers/shared.js';
import { startCloudFormationFake, type CloudFormationFake } from '../deploy/cloudformation-fake.js';
import { main } from '../../src/cli/main.js';
import { killStrayCliProcesses, runCliProcess } from './spawn.js';
import { CreateDatabaseCommand, GetDatabaseCommand, GlueClient } from '@aws-sdk/client-glue';
import { HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startGlueFake } from '../catalog/glue-fake.js';
import { S3RVER_CREDENTIALS, startS3rver } from '../io/s3rver.js';

let dir: string;
let config: string;
let cfn: CloudFormationFake;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'floe-deploy-'));
  config = join(dir, 'aws.yaml');
  await copyFile(join(repoRoot(), 'examples', 'aws-deploy.yaml'), config);
  cfn = await startCloudFormationFake();
});

after(async () => {
  killStrayCliProcesses();
  await cfn.close();
  await rm(dir, { recursive: true, force: true });
});

/** An environment with no AWS credentials anywhere the default chain looks, and no instance metadata. */
function bareEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_') && !k.startsWith('FLOE_')) env[k] = v;
  return {
    ...env,
    HOME: dir,
    AWS_CONFIG_FILE: join(dir, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    NO_PROXY: '127.0.0.1,localhost',
    ...extra,
  };
}

const withFake = () => bareEnv({ AWS_REGION: 'ap-northeast-1', AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 'secret', AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.url });

/**
 * `floe <argv>` in this process (the stand-in's runs: explicit keys and endpoint, nothing read
 * from the machine), output collected as a process's would be.
 */
async function floe(argv: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const env = { ...withFake(), ...extraEnv };
  const code = await main(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, isTTY: false });
  return { code, stdout, stderr };
}

test('floe deploy --dry-run: the template and the aws cloudformation deploy command, no credentials needed', { timeout: 60_000 }, async () => {
  const r = await runCliProcess(['deploy', '--config', config, '--dry-run'], { env: bareEnv(), cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    'aws cloudformation deploy --stack-name floe-streaming-events --template-file floe-streaming-events.template.json --capabilities CAPABILITY_IAM --tags floe:stack=floe-streaming-events\n',
  );
  assert.match(r.stderr, /deploy: template written to floe-streaming-events\.template\.json \(22 resources\)/);
  const written = JSON.parse(await readFile(join(dir, 'floe-streaming-events.template.json'), 'utf8')) as unknown;
  const raw = parseYaml(await readFile(config, 'utf8')) as Record<string, unknown>;
  assert.deepEqual(written, synthesizeTemplate(validateConfig(raw), raw));
});

test('floe deploy: no credentials or no region fail before any request, saying what to set', { timeout: 60_000 }, async () => {
  const before = cfn.requests.length;
  const noCreds = await runCliProcess(['deploy', '--config', config], { env: bareEnv({ AWS_REGION: 'ap-northeast-1' }), cwd: dir });
  assert.equal(noCreds.code, 1, noCreds.stderr);
  assert.equal(
    noCreds.stderr,
    'floe: deploy: no AWS credentials: set AWS_PROFILE (after `aws sso login` or `aws configure`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n',
  );
  const noRegion = await runCliProcess(['destroy', '--config', config], { env: bareEnv({ AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 'secret' }), cwd: dir });
  assert.equal(noRegion.code, 1, noRegion.stderr);
  assert.match(noRegion.stderr, /^floe: deploy: no AWS region: set AWS_REGION \(or source\.region in the config\)/);
  const noDeploy = await floe(['deploy', '--config', join(repoRoot(), 'examples', 'aws.yaml')]);
  assert.equal(noDeploy.code, 2);
  assert.match(noDeploy.stderr, /^floe: config: deploy: .*aws\.yaml has no deploy section/);
  assert.equal(cfn.requests.length, before, 'nothing sent');
});

test('floe deploy / destroy against CloudFormation: create, up to date, delete (what stays is said), gone', { timeout: 60_000 }, async () => {
  const created = await floe(['deploy', '--config', config]);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stderr, /deploy: creating stack floe-streaming-events\n/);
  assert.match(created.stderr, /deploy: floe-streaming-events CREATE_COMPLETE\n/);
  assert.match(created.stdout, /^TableName: glue_streaming_iceberg_db\.streaming_events$/m);
  assert.match(created.stdout, /^QueryCommand: floe query --engine athena --workgroup floe-streaming-events "SELECT/m);
  const create = cfn.requests.find((q) => q.action === 'CreateStack')!;
  assert.equal(create.params.get('Capabilities.member.1'), 'CAPABILITY_IAM');
  assert.equal(create.params.get('OnFailure'), 'ROLLBACK');
  const raw = parseYaml(await readFile(config, 'utf8')) as Record<string, unknown>;
  assert.equal(create.params.get('TemplateBody'), JSON.stringify(synthesizeTemplate(validateConfig(raw), raw)));

  const again = await floe(['deploy', '--config', config]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /deploy: stack floe-streaming-events is up to date/);

  const destroyed = await floe(['destroy', '--config', config]);
  assert.equal(destroyed.code, 0, destroyed.stderr);
  assert.match(destroyed.stderr, /destroy: stack floe-streaming-events deleted/);
  assert.match(destroyed.stdout, /^kept: s3:\/\/glue-streaming-iceberg-data-123456789012 \(the table data/m);
  assert.match(destroyed.stdout, /^kept: Glue database glue_streaming_iceberg_db and its tables/m);
  assert.equal(cfn.stacks.size, 0);
  const gone = await floe(['destroy', '--config', config]);
  assert.equal(gone.code, 0, gone.stderr);
  assert.match(gone.stderr, /destroy: no stack floe-streaming-events/);
});

test('floe deploy: a failed creation names the resource and why; the rolled-back stack is not updated', { timeout: 60_000 }, async () => {
  cfn.failCreate = { resource: 'Service', reason: 'Resource handler returned message: "Invalid image" (HandlerErrorCode: InvalidRequest)' };
  const failed = await floe(['deploy', '--config', config]);
  assert.equal(failed.code, 1, failed.stderr);
  assert.match(failed.stderr, /deploy: Service CREATE_FAILED: Resource handler returned message: "Invalid image"/);
  assert.match(
    failed.stderr,
    /floe: deploy: stack floe-streaming-events ended ROLLBACK_COMPLETE: Service: Resource handler returned message: "Invalid image" \(HandlerErrorCode: InvalidRequest\)\n$/,
  );
  const retry = await floe(['deploy', '--config', config]);
  assert.equal(retry.code, 1);
  assert.match(retry.stderr, /stack floe-streaming-events failed to create \(ROLLBACK_COMPLETE\) and cannot be updated: run floe destroy, then floe deploy/);
  assert.equal((await floe(['destroy', '--config', config])).code, 0);
});

test('floe destroy --purge: the stack, then the Glue database and the bucket it kept', { timeout: 60_000 }, async () => {
  const bucket = 'glue-streaming-iceberg-data-123456789012';
  const s3server = await startS3rver([bucket]);
  const glueFake = await startGlueFake();
  const env = {
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_S3: s3server.endpoint,
    AWS_ENDPOINT_URL_GLUE: glueFake.endpoint,
  };
  const s3 = new S3Client({ endpoint: s3server.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { ...S3RVER_CREDENTIALS } });
  const glue = new GlueClient({ endpoint: glueFake.endpoint, region: 'ap-northeast-1', credentials: { ...S3RVER_CREDENTIALS } });
  try {
    assert.equal((await floe(['deploy', '--config', config], env)).code, 0);
    await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: 'glue_streaming_iceberg_db' } }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'warehouse/glue_streaming_iceberg_db.db/streaming_events/data/a.parquet', Body: 'x' }));
    const r = await floe(['destroy', '--config', config, '--purge'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /destroy: stack floe-streaming-events deleted\ndestroy: deleted Glue database glue_streaming_iceberg_db and its tables\ndestroy: deleted bucket glue-streaming-iceberg-data-123456789012 \(1 object\)\n$/);
    assert.equal(r.stdout, '', 'nothing said to be kept');
    await assert.rejects(glue.send(new GetDatabaseCommand({ Name: 'glue_streaming_iceberg_db' })), { name: 'EntityNotFoundException' });
    await assert.rejects(s3.send(new HeadBucketCommand({ Bucket: bucket })));
  } finally {
    s3.destroy();
    glue.destroy();
    await glueFake.stop();
    await s3server.close();
  }
});
