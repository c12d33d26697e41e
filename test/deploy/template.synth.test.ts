/**
 * The CloudFormation template of `floe deploy`, synthesized without AWS and checked as a reviewer
 * would: every resource the issue lists, encryption at rest, the container's health check wired
 * to floe's /healthz (the Dockerfile's command), the task role equal to docs/iam's writer policy
 * for the stack's resources, no wildcard action, `*` as a resource only where AWS requires it,
 * every reference resolvable, and configs that cannot be deployed refused naming the key.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { validateConfig, type PipelineConfig } from '../../src/pipeline/config.js';
import { TEMPLATE_BODY_LIMIT } from '../../src/deploy/cloudformation.js';
import { REFERENCE_AWS } from '../../src/deploy/iam-policy.js';
import { CONTAINER_METRICS_PORT, HEALTHCHECK_COMMAND, synthesizeTemplate, type Template } from '../../src/deploy/template.js';
import { repoRoot } from '../helpers/shared.js';

const ROOT = repoRoot();
const exampleRaw = parseYaml(readFileSync(join(ROOT, 'examples', 'aws-deploy.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;

function synth(patch: (raw: Record<string, Record<string, unknown>>) => void = () => {}): { raw: Record<string, unknown>; config: PipelineConfig; template: Template } {
  const raw = structuredClone(exampleRaw);
  patch(raw);
  const config = validateConfig(raw);
  return { raw, config, template: synthesizeTemplate(config, raw) };
}

/** The scaled variant: existing stream and bucket, given subnets, a lease table, 1–4 tasks, Lake Formation. */
const scaled = () =>
  synth((raw) => {
    raw.source!.application = 'floe-streaming-events';
    Object.assign(raw.deploy!, {
      stream: 'existing',
      bucket: 'existing',
      tasks: { min: 1, max: 4 },
      scale_at_behind: '30s',
      subnets: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
      security_groups: ['sg-0123456789abcdef0'],
      assign_public_ip: false,
      lake_formation: true,
    });
  });

function byType(t: Template, type: string): [string, Record<string, unknown>][] {
  return Object.entries(t.Resources)
    .filter(([, r]) => r.Type === type)
    .map(([k, r]) => [k, r.Properties]);
}

function one(t: Template, type: string): Record<string, unknown> {
  const found = byType(t, type);
  assert.equal(found.length, 1, `one ${type}`);
  return found[0]![1];
}

/** Replaces `{Fn::Sub}` of the pseudo parameters by the reference account's values, as AWS would. */
function resolveSubs(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(resolveSubs);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o['Fn::Sub'] === 'string' && Object.keys(o).length === 1) {
      return (o['Fn::Sub'] as string)
        .replaceAll('${AWS::Partition}', REFERENCE_AWS.partition)
        .replaceAll('${AWS::Region}', REFERENCE_AWS.region)
        .replaceAll('${AWS::AccountId}', REFERENCE_AWS.account);
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, resolveSubs(x)]));
  }
  return v;
}

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** Every IAM statement of the template (role policies, managed policies, bucket policies), with where it is. */
function statements(t: Template): { where: string; s: Statement }[] {
  const out: { where: string; s: Statement }[] = [];
  for (const [name, r] of Object.entries(t.Resources)) {
    const docs: unknown[] = [];
    if (r.Type === 'AWS::IAM::Role') for (const p of (r.Properties.Policies as { PolicyDocument: unknown }[]) ?? []) docs.push(p.PolicyDocument);
    if (r.Type === 'AWS::IAM::ManagedPolicy' || r.Type === 'AWS::S3::BucketPolicy') docs.push(r.Properties.PolicyDocument);
    for (const d of docs) for (const s of (d as { Statement: Statement[] }).Statement) out.push({ where: name, s });
  }
  return out;
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

for (const [label, make] of [
  ['examples/aws-deploy.yaml', () => synth()],
  ['the scaled variant', scaled],
] as const) {
  test(`template (${label}): no wildcard action, "*" only where AWS requires it, every reference resolves, fits a request body`, () => {
    const { template } = make();
    for (const { where, s } of statements(template)) {
      for (const a of list(s.Action) as string[]) {
        if (s.Effect === 'Deny') continue; // the TLS-only bucket policy denies s3:* to everyone
        assert.ok(!a.includes('*'), `${where}/${s.Sid}: wildcard action ${a}`);
      }
      if (s.Effect === 'Allow' && list(s.Resource).includes('*')) {
        assert.deepEqual(list(s.Action), ['ecr:GetAuthorizationToken'], `${where}/${s.Sid}: "*" resource for ${JSON.stringify(s.Action)}`);
      }
    }
    const names = new Set(Object.keys(template.Resources));
    const pseudo = new Set(['AWS::AccountId', 'AWS::Region', 'AWS::Partition', 'AWS::StackName']);
    const walk = (v: unknown, where: string): void => {
      if (Array.isArray(v)) return v.forEach((x) => walk(x, where));
      if (!v || typeof v !== 'object') return;
      const o = v as Record<string, unknown>;
      if (typeof o.Ref === 'string') assert.ok(names.has(o.Ref) || pseudo.has(o.Ref), `${where}: Ref ${o.Ref}`);
      if (Array.isArray(o['Fn::GetAtt'])) assert.ok(names.has(o['Fn::GetAtt'][0] as string), `${where}: GetAtt ${o['Fn::GetAtt'][0]}`);
      if (typeof o['Fn::Sub'] === 'string') {
        for (const m of (o['Fn::Sub'] as string).matchAll(/\$\{([^}]+)\}/g)) {
          const target = m[1]!.split('.')[0]!;
          assert.ok(names.has(target) || pseudo.has(m[1]!), `${where}: Fn::Sub \${${m[1]}}`);
        }
      }
      for (const [k, x] of Object.entries(o)) walk(x, `${where}.${k}`);
    };
    for (const [name, r] of Object.entries(template.Resources)) {
      walk(r.Properties, name);
      for (const dep of list(r.DependsOn ?? [])) assert.ok(names.has(dep as string), `${name}: DependsOn ${dep}`);
    }
    walk(template.Outputs, 'Outputs');
    assert.ok(JSON.stringify(template).length < TEMPLATE_BODY_LIMIT / 2, `compact template ${JSON.stringify(template).length} bytes`);
    assert.ok(/^[\x20-\x7e]*$/.test(template.Description), 'an ASCII description');
  });
}

test('template: the stream (ON_DEMAND, encrypted), the bucket (encrypted, private, kept), the Glue database (kept), logs, Athena', () => {
  const { template, config } = synth();
  const stream = one(template, 'AWS::Kinesis::Stream');
  assert.equal(stream.Name, config.source.stream);
  assert.deepEqual(stream.StreamModeDetails, { StreamMode: 'ON_DEMAND' });
  assert.deepEqual(stream.StreamEncryption, { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' });

  const bucket = one(template, 'AWS::S3::Bucket');
  assert.equal(bucket.BucketName, 'glue-streaming-iceberg-data-123456789012');
  assert.deepEqual(bucket.BucketEncryption, { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] });
  assert.deepEqual(bucket.PublicAccessBlockConfiguration, { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
  assert.equal(template.Resources.WarehouseBucket!.DeletionPolicy, 'Retain');
  assert.equal(template.Resources.GlueDatabase!.DeletionPolicy, 'Retain');
  const db = one(template, 'AWS::Glue::Database');
  assert.equal((db.DatabaseInput as { Name: string }).Name, 'glue_streaming_iceberg_db');
  assert.equal((db.DatabaseInput as { LocationUri?: string }).LocationUri, undefined, 'tables go under <warehouse>/<db>.db, the prefix the role may write');

  const logs = one(template, 'AWS::Logs::LogGroup');
  assert.equal(logs.RetentionInDays, 30);
  const wg = one(template, 'AWS::Athena::WorkGroup');
  const wgc = wg.WorkGroupConfiguration as { ResultConfiguration: { OutputLocation: string; EncryptionConfiguration: unknown }; EnforceWorkGroupConfiguration: boolean };
  assert.equal(wgc.ResultConfiguration.OutputLocation, 's3://glue-streaming-iceberg-data-123456789012/athena-results/');
  assert.deepEqual(wgc.ResultConfiguration.EncryptionConfiguration, { EncryptionOption: 'SSE_S3' });
  assert.equal(wgc.EnforceWorkGroupConfiguration, true);

  // One task, no lease table: no scaling, and never two writers during a deployment.
  assert.equal(byType(template, 'AWS::DynamoDB::Table').length, 0);
  assert.equal(byType(template, 'AWS::ApplicationAutoScaling::ScalableTarget').length, 0);
  const service = one(template, 'AWS::ECS::Service');
  assert.equal(service.DesiredCount, 1);
  assert.deepEqual(service.DeploymentConfiguration, { MinimumHealthyPercent: 0, MaximumPercent: 100, DeploymentCircuitBreaker: { Enable: true, Rollback: true } });

  assert.equal(template.Outputs.TableName!.Value, 'glue_streaming_iceberg_db.streaming_events');
  assert.match(String(template.Outputs.QueryCommand!.Value), /^floe query --engine athena --workgroup floe-streaming-events "SELECT \* FROM glue_streaming_iceberg_db\.streaming_events /);
});

test('template: the Fargate ARM task runs floe run with the config, its health check is the Dockerfile\'s /healthz', () => {
  const { template, raw } = synth();
  const td = one(template, 'AWS::ECS::TaskDefinition');
  assert.deepEqual(td.RuntimePlatform, { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' });
  assert.deepEqual(td.RequiresCompatibilities, ['FARGATE']);
  assert.deepEqual([td.Cpu, td.Memory], ['512', '1024']);
  const [c] = td.ContainerDefinitions as Record<string, unknown>[];
  assert.equal(c!.Image, '123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/floe:0.1.0');
  assert.match((c!.Command as string[])[0]!, /exec floe run --config \/tmp\/floe\.json$/);
  const env = Object.fromEntries((c!.Environment as { Name: string; Value: unknown }[]).map((e) => [e.Name, e.Value]));
  const taskConfig = JSON.parse(env.FLOE_CONFIG as string) as Record<string, unknown>;
  // The config the task runs: the file's, without deploy, with the metrics port of the health check.
  const expected = structuredClone(raw);
  delete expected.deploy;
  expected.metrics = { port: CONTAINER_METRICS_PORT, host: '127.0.0.1' };
  assert.deepEqual(taskConfig, expected);
  assert.equal(validateConfig(taskConfig).metrics?.port, 9464);

  const hc = c!.HealthCheck as { Command: string[]; StartPeriod: number };
  assert.deepEqual(hc.Command, ['CMD', ...HEALTHCHECK_COMMAND]);
  assert.ok(hc.StartPeriod >= 60);
  // The same command as the Dockerfile's HEALTHCHECK, on the port the image exposes.
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, '');
  const dockerHc = /^HEALTHCHECK .*? CMD (\[.*\])$/m.exec(dockerfile);
  assert.ok(dockerHc, 'a HEALTHCHECK in exec form');
  assert.deepEqual(JSON.parse(dockerHc[1]!), HEALTHCHECK_COMMAND);
  assert.match(dockerfile, new RegExp(`^EXPOSE ${CONTAINER_METRICS_PORT}$`, 'm'));
  assert.equal(c!.StopTimeout, 120, 'time for the final commit after SIGTERM');
  const log = c!.LogConfiguration as { LogDriver: string; Options: Record<string, unknown> };
  assert.equal(log.LogDriver, 'awslogs');
  assert.deepEqual(log.Options['awslogs-group'], { Ref: 'LogGroup' });
});

test('template: the task role is docs/iam/floe-writer-policy.json for the stack (the database is the stack\'s: no CreateDatabase)', () => {
  const { template } = synth();
  const role = template.Resources.TaskRole!.Properties as { Policies: { PolicyDocument: unknown }[] };
  assert.equal(role.Policies.length, 1);
  const policy = resolveSubs(role.Policies[0]!.PolicyDocument);
  const docs = JSON.parse(readFileSync(join(ROOT, 'docs', 'iam', 'floe-writer-policy.json'), 'utf8')) as { Statement: Statement[] };
  const expected = {
    ...docs,
    Statement: docs.Statement.map((s) => (s.Sid === 'CatalogTheTables' ? { ...s, Action: (s.Action as string[]).filter((a) => a !== 'glue:CreateDatabase') } : s)),
  };
  assert.deepEqual(policy, expected);
  // The query policy of the stack is docs/iam's query policy for the stack's workgroup.
  const query = resolveSubs(one(template, 'AWS::IAM::ManagedPolicy').PolicyDocument);
  const queryDocs = JSON.parse(readFileSync(join(ROOT, 'docs', 'iam', 'floe-athena-query-policy.json'), 'utf8').replace('workgroup/primary', 'workgroup/floe-streaming-events'));
  assert.deepEqual(query, queryDocs);
  // The execution role pulls only from the image's repository and writes only to the log group.
  const exec = statements(template).filter((x) => x.where === 'ExecutionRole');
  assert.deepEqual(
    resolveSubs(exec.find((x) => x.s.Sid === 'PullTheImage')!.s.Resource),
    'arn:aws:ecr:ap-northeast-1:123456789012:repository/floe',
  );
  assert.deepEqual(exec.find((x) => x.s.Sid === 'WriteTheLogs')!.s.Resource, { 'Fn::GetAtt': ['LogGroup', 'Arn'] });
});

test('template (scaled): the lease table, task count on the iterator age, existing stream and bucket, Lake Formation grants', () => {
  const { template } = scaled();
  assert.equal(byType(template, 'AWS::Kinesis::Stream').length, 0, 'existing stream: not created');
  assert.equal(byType(template, 'AWS::S3::Bucket').length, 0, 'existing bucket: not created');
  assert.equal(byType(template, 'AWS::EC2::VPC').length, 0, 'subnets given: no VPC');

  const lease = one(template, 'AWS::DynamoDB::Table');
  assert.equal(lease.TableName, 'floe-streaming-events');
  assert.deepEqual(lease.KeySchema, [{ AttributeName: 'leaseKey', KeyType: 'HASH' }]);
  assert.deepEqual(lease.AttributeDefinitions, [{ AttributeName: 'leaseKey', AttributeType: 'S' }]);
  assert.equal(lease.BillingMode, 'PAY_PER_REQUEST');
  assert.deepEqual(lease.SSESpecification, { SSEEnabled: true });

  const target = one(template, 'AWS::ApplicationAutoScaling::ScalableTarget');
  assert.deepEqual([target.MinCapacity, target.MaxCapacity, target.ScalableDimension], [1, 4, 'ecs:service:DesiredCount']);
  assert.deepEqual(target.ResourceId, { 'Fn::Sub': 'service/${Cluster}/${Service.Name}' });
  const policy = one(template, 'AWS::ApplicationAutoScaling::ScalingPolicy');
  const tt = policy.TargetTrackingScalingPolicyConfiguration as { TargetValue: number; CustomizedMetricSpecification: Record<string, unknown> };
  assert.equal(tt.TargetValue, 30_000);
  assert.deepEqual(tt.CustomizedMetricSpecification, {
    Namespace: 'AWS/Kinesis',
    MetricName: 'GetRecords.IteratorAgeMilliseconds',
    Dimensions: [{ Name: 'StreamName', Value: 'glue-streaming-iceberg-stream' }],
    Statistic: 'Maximum',
    Unit: 'Milliseconds',
  });
  const service = one(template, 'AWS::ECS::Service');
  assert.deepEqual((service.DeploymentConfiguration as Record<string, unknown>).MaximumPercent, 200, 'leases: old and new tasks may overlap');
  const net = (service.NetworkConfiguration as { AwsvpcConfiguration: Record<string, unknown> }).AwsvpcConfiguration;
  assert.deepEqual(net, { AssignPublicIp: 'DISABLED', Subnets: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'], SecurityGroups: ['sg-0123456789abcdef0'] });

  // docs/iam/floe-lease-table-policy.json for this lease table, without CreateTable (the stack creates it).
  const policies = (template.Resources.TaskRole!.Properties as { Policies: { PolicyName: string; PolicyDocument: unknown }[] }).Policies;
  assert.deepEqual(policies.map((p) => p.PolicyName), ['floe-writer', 'floe-lease-table']);
  const docs = JSON.parse(
    readFileSync(join(ROOT, 'docs', 'iam', 'floe-lease-table-policy.json'), 'utf8').replace('table/glue-streaming-iceberg-ingest', 'table/floe-streaming-events'),
  ) as { Statement: Statement[] };
  assert.deepEqual(resolveSubs(policies[1]!.PolicyDocument), {
    ...docs,
    Statement: docs.Statement.map((s) => ({ ...s, Action: (s.Action as string[]).filter((a) => a !== 'dynamodb:CreateTable') })),
  });
  assert.equal(byType(template, 'AWS::LakeFormation::PrincipalPermissions').length, 2);
});

test('template: configs that cannot be deployed are refused, naming the key', () => {
  const cases: [(raw: Record<string, Record<string, unknown>>) => void, RegExp][] = [
    [(r) => void (r.catalog!.uri = 'catalog.db'), /^config: catalog\.uri: floe deploy writes to the Glue Data Catalog/],
    [(r) => void (r.catalog!.warehouse = '/data/warehouse'), /^config: catalog\.warehouse: floe deploy needs an S3 warehouse/],
    [(r) => void (r.source!.endpoint = 'http://127.0.0.1:4567'), /^config: source\.endpoint: a deployed pipeline reads the AWS Kinesis endpoint/],
    [(r) => void (r.deploy!.tasks = 3), /^config: deploy\.tasks: 3 tasks share the stream only through a lease table: set source\.application/],
    [(r) => void (r.dead_letter = { policy: 'dlq', table: 'other_db.dead' }), /^config: dead_letter\.table: floe deploy grants one database/],
  ];
  for (const [patch, message] of cases) assert.throws(() => synth(patch), { message });
  assert.throws(() => synth((r) => void delete r.deploy), { message: /^config: deploy: required by floe deploy/ });
  // The deploy section itself is validated by floe run too.
  assert.throws(() => synth((r) => void (r.deploy!.memory = 999)), { message: /^config: deploy\.memory: Fargate takes 1024, 2048, 3072, 4096 MiB with cpu 512, got 999$/ });
  assert.throws(() => synth((r) => void (r.deploy!.image = undefined)), { message: /^config: deploy\.image: required/ });
  assert.throws(() => synth((r) => void (r.deploy!.tasks = { min: 3, max: 2 })), { message: /^config: deploy\.tasks\.max: must be at least tasks\.min \(3\), got 2$/ });
  assert.throws(() => synth((r) => void (r.deploy!.subnets = ['subnet-1; rm'])), { message: /^config: deploy\.subnets: must be a list of subnet-… ids/ });
});
