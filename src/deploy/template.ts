/**
 * The CloudFormation template of `floe deploy`: a plain JSON template built from a `floe run`
 * config and its `deploy` section (no CDK: deploy/README.md has the measurements behind that).
 * The stream (new ON_DEMAND or existing), the warehouse bucket (encrypted, public access
 * blocked, kept at destroy), the Glue database (kept), the lease table (with
 * `source.application`), an ECS Fargate ARM service running `floe run` with a health check on
 * floe's `/healthz`, its task role (the writer policy of `iam-policy.ts`, the one source of
 * `docs/iam`), a log group, an Athena workgroup with its results location, and the task count
 * scaled on the stream's iterator age. Pure: no I/O.
 */
import { ValidationError } from '../errors.js';
import type { PipelineConfig } from '../pipeline/config.js';
import type { DeployConfig } from './deploy-config.js';
import { athenaQueryPolicy, efoConsumerPolicy, leaseTablePolicy, writerPolicy, type PolicyDocument } from './iam-policy.js';

/** The port `floe run` serves `/healthz` on in the container (the Dockerfile's too). */
export const CONTAINER_METRICS_PORT = 9464;

/** The container's health check: Node's fetch (the slim image has neither curl nor wget). */
export const HEALTHCHECK_COMMAND = [
  'node',
  '-e',
  `fetch('http://127.0.0.1:${CONTAINER_METRICS_PORT}/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
];

/** Where the config reaches the container: the environment, written to a file at start. */
export const CONTAINER_COMMAND = 'printf \'%s\' "$FLOE_CONFIG" > /tmp/floe.json && exec floe run --config /tmp/floe.json';

/** A CloudFormation template (the parts floe writes). */
export interface Template {
  AWSTemplateFormatVersion: '2010-09-09';
  Description: string;
  Resources: Record<string, Resource>;
  Outputs: Record<string, { Description: string; Value: unknown }>;
}

/** One resource. */
export interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
  DependsOn?: string | string[];
  DeletionPolicy?: 'Delete' | 'Retain';
  UpdateReplacePolicy?: 'Delete' | 'Retain';
}

/** What the stack is made of, read from the config (also what `floe destroy --purge` removes). */
export interface StackPlan {
  stack: string;
  region?: string;
  stream: string;
  bucket: string;
  warehousePrefix: string;
  database: string;
  table: string;
  deadLetterTable: string | undefined;
  leaseTable: string | undefined;
  workgroup: string;
  resultsPrefix: string;
  deploy: DeployConfig;
}

const sub = (s: string) => ({ 'Fn::Sub': s });
const ref = (name: string) => ({ Ref: name });
const att = (name: string, a: string) => ({ 'Fn::GetAtt': [name, a] });

/** The plan of a config, or a ValidationError naming the key that cannot be deployed. */
export function stackPlan(config: PipelineConfig): StackPlan {
  const d = config.deploy;
  if (!d) throw new ValidationError('config: deploy: required by floe deploy (at least deploy.image: the image built from the Dockerfile)');
  const uri = config.catalog.uri ?? '';
  if (!/^glue:(\/\/\d{12})?(\?.*)?$/.test(uri)) {
    throw new ValidationError(`config: catalog.uri: floe deploy writes to the Glue Data Catalog (glue: or glue://<account id>), got ${JSON.stringify(config.catalog.uri)}`);
  }
  if (/[?&]endpoint=/.test(uri)) throw new ValidationError('config: catalog.uri: a deployed pipeline uses the AWS Glue endpoint: remove ?endpoint=');
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*?))?\/?$/.exec(config.catalog.warehouse ?? '');
  if (!m) throw new ValidationError(`config: catalog.warehouse: floe deploy needs an S3 warehouse (s3://<bucket>/<prefix>), got ${JSON.stringify(config.catalog.warehouse)}`);
  if (config.source.endpoint) throw new ValidationError('config: source.endpoint: a deployed pipeline reads the AWS Kinesis endpoint: remove source.endpoint');
  if (config.source.streamArn && d.stream === 'create') {
    throw new ValidationError('config: source.stream_arn: names an existing stream: set deploy.stream: existing (or give source.stream to create one)');
  }
  if (d.tasks.max > 1 && config.source.application === undefined) {
    throw new ValidationError(
      `config: deploy.tasks: ${d.tasks.max} tasks share the stream only through a lease table: set source.application (one task alone otherwise: a second writer of the table is fenced)`,
    );
  }
  const [database, table, ...more] = config.table.name.split('.');
  if (!database || !table || more.length > 0) throw new ValidationError(`config: table.name: a Glue table is <database>.<table>, got '${config.table.name}'`);
  let deadLetterTable: string | undefined;
  if (config.deadLetter.policy === 'dlq') {
    const [dlDb, dl] = config.deadLetter.table.split('.');
    if (dlDb !== database || !dl) {
      throw new ValidationError(`config: dead_letter.table: floe deploy grants one database: the dead-letter table must be in ${database}, got '${config.deadLetter.table}'`);
    }
    deadLetterTable = dl;
  }
  return {
    stack: d.stack,
    ...(config.source.region ? { region: config.source.region } : {}),
    stream: config.source.stream,
    bucket: m[1]!,
    warehousePrefix: m[2] ?? '',
    database,
    table,
    deadLetterTable,
    leaseTable: config.source.application,
    workgroup: d.stack,
    resultsPrefix: 'athena-results',
    deploy: d,
  };
}

/** Every ARN of a policy as `Fn::Sub` (they hold `${AWS::Region}`, `${AWS::AccountId}`, `${AWS::Partition}`). */
function subArns(doc: PolicyDocument): unknown {
  return {
    ...doc,
    Statement: doc.Statement.map((s) => ({
      ...s,
      Resource: Array.isArray(s.Resource) ? s.Resource.map((r) => sub(r)) : sub(s.Resource),
    })),
  };
}

const AWS = { partition: '${AWS::Partition}', region: '${AWS::Region}', account: '${AWS::AccountId}' };

/** The task role's policy: `writerPolicy` for the stack's resources (the database exists: no CreateDatabase). */
export function taskPolicy(plan: StackPlan, config: PipelineConfig): PolicyDocument {
  return writerPolicy({
    ...AWS,
    stream: plan.stream,
    bucket: plan.bucket,
    warehousePrefix: plan.warehousePrefix,
    database: plan.database,
    tables: [plan.table, ...(plan.deadLetterTable ? [plan.deadLetterTable] : [])],
    createTable: config.table.create,
    createDatabase: false,
  });
}

/** `<account>.dkr.ecr.<region>.amazonaws.com/<repo>[:tag|@digest]` → the repository ARN (Fn::Sub), else undefined. */
function ecrRepository(image: string): unknown {
  const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([a-z0-9._/-]+?)(?:[:@].*)?$/.exec(image);
  return m ? sub(`arn:\${AWS::Partition}:ecr:${m[2]}:${m[1]}:repository/${m[3]}`) : undefined;
}

/**
 * The template for `config` (validated, with a `deploy` section) and the run config the tasks get
 * (`runConfig`: the config document as written, without `deploy`; a `metrics` section on the
 * container port is added when it has none, for the health check).
 */
export function synthesizeTemplate(config: PipelineConfig, runConfig: Record<string, unknown>): Template {
  const plan = stackPlan(config);
  const d = plan.deploy;
  const r: Record<string, Resource> = {};
  const taskConfig: Record<string, unknown> = { ...runConfig };
  delete taskConfig.deploy;
  const metrics = (taskConfig.metrics ?? {}) as Record<string, unknown>;
  taskConfig.metrics = { ...metrics, port: CONTAINER_METRICS_PORT, host: '127.0.0.1' };

  const streamArn = sub(`arn:\${AWS::Partition}:kinesis:\${AWS::Region}:\${AWS::AccountId}:stream/${plan.stream}`);
  if (d.stream === 'create') {
    r.Stream = {
      Type: 'AWS::Kinesis::Stream',
      Properties: {
        Name: plan.stream,
        StreamModeDetails: { StreamMode: 'ON_DEMAND' },
        RetentionPeriodHours: 24,
        StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
      },
    };
  }
  if (d.bucket === 'create') {
    r.WarehouseBucket = {
      Type: 'AWS::S3::Bucket',
      // The table's data outlives the stack: `floe destroy --purge` empties and deletes it.
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BucketName: plan.bucket,
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      },
    };
    r.WarehouseBucketPolicy = {
      Type: 'AWS::S3::BucketPolicy',
      Properties: {
        Bucket: ref('WarehouseBucket'),
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'TlsOnly',
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Action: 's3:*',
              Resource: [sub(`arn:\${AWS::Partition}:s3:::${plan.bucket}`), sub(`arn:\${AWS::Partition}:s3:::${plan.bucket}/*`)],
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            },
          ],
        },
      },
    };
  }
  r.GlueDatabase = {
    Type: 'AWS::Glue::Database',
    DeletionPolicy: 'Retain', // its tables are floe's (created by floe run), kept with the data
    UpdateReplacePolicy: 'Retain',
    Properties: {
      CatalogId: ref('AWS::AccountId'),
      // No LocationUri: tables go to <warehouse>/<database>.db/<table>, the prefix the task role may write.
      DatabaseInput: { Name: plan.database, Description: `Iceberg tables written by floe (stack ${plan.stack})` },
    },
  };
  if (plan.leaseTable) {
    r.LeaseTable = {
      Type: 'AWS::DynamoDB::Table',
      DeletionPolicy: 'Delete', // positions live in the Iceberg table; leases are rebuilt
      Properties: {
        TableName: plan.leaseTable,
        AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true },
      },
    };
  }
  r.LogGroup = {
    Type: 'AWS::Logs::LogGroup',
    DeletionPolicy: 'Delete',
    Properties: { LogGroupName: `/floe/${plan.stack}`, RetentionInDays: d.logRetentionDays },
  };
  r.Cluster = { Type: 'AWS::ECS::Cluster', Properties: { ClusterName: plan.stack } };

  const assumeEcsTasks = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }],
  };
  const repository = ecrRepository(d.image);
  r.ExecutionRole = {
    Type: 'AWS::IAM::Role',
    Properties: {
      Description: `floe ${plan.stack}: pulls the image, writes the logs`,
      AssumeRolePolicyDocument: assumeEcsTasks,
      Policies: [
        {
          PolicyName: 'pull-and-log',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              ...(repository
                ? [
                    // GetAuthorizationToken has no resource to name: AWS requires "*".
                    { Sid: 'EcrLogin', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
                    { Sid: 'PullTheImage', Effect: 'Allow', Action: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'], Resource: repository },
                  ]
                : []),
              { Sid: 'WriteTheLogs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: att('LogGroup', 'Arn') },
            ],
          },
        },
      ],
    },
  };
  r.TaskRole = {
    Type: 'AWS::IAM::Role',
    Properties: {
      Description: `floe ${plan.stack}: what floe run calls (docs/iam/floe-writer-policy.json for this stack)`,
      AssumeRolePolicyDocument: assumeEcsTasks,
      Policies: [
        { PolicyName: 'floe-writer', PolicyDocument: subArns(taskPolicy(plan, config)) },
        // docs/iam/floe-lease-table-policy.json, without CreateTable: the stack creates the table.
        ...(plan.leaseTable
          ? [{ PolicyName: 'floe-lease-table', PolicyDocument: subArns(leaseTablePolicy({ ...AWS, table: plan.leaseTable, createTable: false })) }]
          : []),
        // docs/iam/floe-efo-consumer-policy.json when the config reads through enhanced fan-out.
        ...(config.source.consumer !== undefined
          ? [{ PolicyName: 'floe-efo-consumer', PolicyDocument: subArns(efoConsumerPolicy({ ...AWS, stream: plan.stream, consumer: config.source.consumer })) }]
          : []),
      ],
    },
  };

  r.TaskDefinition = {
    Type: 'AWS::ECS::TaskDefinition',
    Properties: {
      Family: plan.stack,
      Cpu: String(d.cpu),
      Memory: String(d.memory),
      NetworkMode: 'awsvpc',
      RequiresCompatibilities: ['FARGATE'],
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      ExecutionRoleArn: att('ExecutionRole', 'Arn'),
      TaskRoleArn: att('TaskRole', 'Arn'),
      ContainerDefinitions: [
        {
          Name: 'floe',
          Image: d.image,
          Essential: true,
          EntryPoint: ['sh', '-c'],
          Command: [CONTAINER_COMMAND],
          Environment: [
            { Name: 'FLOE_CONFIG', Value: JSON.stringify(taskConfig) },
            { Name: 'AWS_REGION', Value: ref('AWS::Region') },
          ],
          HealthCheck: { Command: ['CMD', ...HEALTHCHECK_COMMAND], Interval: 30, Timeout: 5, Retries: 3, StartPeriod: 60 },
          // SIGTERM makes a final commit: give it time before SIGKILL.
          StopTimeout: 120,
          LogConfiguration: {
            LogDriver: 'awslogs',
            Options: { 'awslogs-group': ref('LogGroup'), 'awslogs-region': ref('AWS::Region'), 'awslogs-stream-prefix': 'floe' },
          },
        },
      ],
    },
  };

  let subnets: unknown[] = d.subnets;
  let securityGroups: unknown[] = d.securityGroups;
  const serviceDependsOn: string[] = [];
  if (d.subnets.length === 0) {
    // A small VPC: two public subnets, tasks with public IPs (no NAT gateway to pay for), no inbound rule.
    r.Vpc = { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.42.0.0/16', EnableDnsSupport: true, EnableDnsHostnames: true } };
    r.InternetGateway = { Type: 'AWS::EC2::InternetGateway', Properties: {} };
    r.GatewayAttachment = { Type: 'AWS::EC2::VPCGatewayAttachment', Properties: { VpcId: ref('Vpc'), InternetGatewayId: ref('InternetGateway') } };
    r.RouteTable = { Type: 'AWS::EC2::RouteTable', Properties: { VpcId: ref('Vpc') } };
    r.DefaultRoute = {
      Type: 'AWS::EC2::Route',
      DependsOn: 'GatewayAttachment',
      Properties: { RouteTableId: ref('RouteTable'), DestinationCidrBlock: '0.0.0.0/0', GatewayId: ref('InternetGateway') },
    };
    for (const k of [0, 1]) {
      r[`Subnet${k}`] = {
        Type: 'AWS::EC2::Subnet',
        Properties: { VpcId: ref('Vpc'), CidrBlock: `10.42.${k}.0/24`, AvailabilityZone: { 'Fn::Select': [k, { 'Fn::GetAZs': '' }] } },
      };
      r[`Subnet${k}Routes`] = { Type: 'AWS::EC2::SubnetRouteTableAssociation', Properties: { SubnetId: ref(`Subnet${k}`), RouteTableId: ref('RouteTable') } };
    }
    r.TaskSecurityGroup = {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: {
        GroupDescription: `floe ${plan.stack}: no inbound traffic; outbound HTTPS to AWS APIs`,
        VpcId: ref('Vpc'),
        SecurityGroupEgress: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '0.0.0.0/0' }],
      },
    };
    subnets = [ref('Subnet0'), ref('Subnet1')];
    securityGroups = [ref('TaskSecurityGroup')];
    serviceDependsOn.push('DefaultRoute', 'Subnet0Routes', 'Subnet1Routes');
  }
  const shared = plan.leaseTable !== undefined;
  r.Service = {
    Type: 'AWS::ECS::Service',
    ...(serviceDependsOn.length ? { DependsOn: serviceDependsOn } : {}),
    Properties: {
      ServiceName: plan.stack,
      Cluster: ref('Cluster'),
      TaskDefinition: ref('TaskDefinition'),
      LaunchType: 'FARGATE',
      DesiredCount: d.tasks.min,
      // Without a lease table, never two writers at once (the second would be fenced): stop, then start.
      DeploymentConfiguration: {
        MinimumHealthyPercent: shared ? 100 : 0,
        MaximumPercent: shared ? 200 : 100,
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      },
      NetworkConfiguration: {
        AwsvpcConfiguration: { AssignPublicIp: d.assignPublicIp ? 'ENABLED' : 'DISABLED', Subnets: subnets, ...(securityGroups.length ? { SecurityGroups: securityGroups } : {}) },
      },
    },
  };
  if (d.tasks.max > d.tasks.min) {
    r.ScalableTarget = {
      Type: 'AWS::ApplicationAutoScaling::ScalableTarget',
      // No RoleARN: Application Auto Scaling uses its service-linked role for ECS.
      Properties: {
        ServiceNamespace: 'ecs',
        ScalableDimension: 'ecs:service:DesiredCount',
        ResourceId: sub('service/${Cluster}/${Service.Name}'),
        MinCapacity: d.tasks.min,
        MaxCapacity: d.tasks.max,
      },
    };
    r.ScaleOnIteratorAge = {
      Type: 'AWS::ApplicationAutoScaling::ScalingPolicy',
      Properties: {
        PolicyName: `${plan.stack}-iterator-age`,
        PolicyType: 'TargetTrackingScaling',
        ScalingTargetId: ref('ScalableTarget'),
        TargetTrackingScalingPolicyConfiguration: {
          // How far behind the stream's tip the readers are (the maximum over shards): the same
          // figure as floe_millis_behind_latest, published by Kinesis itself.
          TargetValue: d.scaleAtBehindMs,
          ScaleOutCooldown: 60,
          ScaleInCooldown: 300,
          CustomizedMetricSpecification: {
            Namespace: 'AWS/Kinesis',
            MetricName: 'GetRecords.IteratorAgeMilliseconds',
            Dimensions: [{ Name: 'StreamName', Value: plan.stream }],
            Statistic: 'Maximum',
            Unit: 'Milliseconds',
          },
        },
      },
    };
  }
  const resultsLocation = `s3://${plan.bucket}/${plan.resultsPrefix}/`;
  r.AthenaWorkGroup = {
    Type: 'AWS::Athena::WorkGroup',
    Properties: {
      Name: plan.workgroup,
      Description: `Queries of ${config.table.name} (floe stack ${plan.stack})`,
      RecursiveDeleteOption: true,
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        PublishCloudWatchMetricsEnabled: true,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        ResultConfiguration: { OutputLocation: resultsLocation, EncryptionConfiguration: { EncryptionOption: 'SSE_S3' } },
      },
    },
  };
  r.QueryPolicy = {
    Type: 'AWS::IAM::ManagedPolicy',
    Properties: {
      Description: `Query ${config.table.name} with Athena in workgroup ${plan.workgroup} (docs/iam/floe-athena-query-policy.json for this stack)`,
      PolicyDocument: subArns(
        athenaQueryPolicy({ ...AWS, workgroup: plan.workgroup, bucket: plan.bucket, warehousePrefix: plan.warehousePrefix, database: plan.database, resultsPrefix: plan.resultsPrefix }),
      ),
    },
  };
  if (d.lakeFormation) {
    const principal = { DataLakePrincipalIdentifier: att('TaskRole', 'Arn') };
    r.LakeFormationDatabase = {
      Type: 'AWS::LakeFormation::PrincipalPermissions',
      DependsOn: 'GlueDatabase',
      Properties: {
        Principal: principal,
        Resource: { Database: { CatalogId: ref('AWS::AccountId'), Name: plan.database } },
        Permissions: ['DESCRIBE', 'CREATE_TABLE', 'ALTER'],
        PermissionsWithGrantOption: [],
      },
    };
    r.LakeFormationTables = {
      Type: 'AWS::LakeFormation::PrincipalPermissions',
      DependsOn: 'GlueDatabase',
      Properties: {
        Principal: principal,
        Resource: { Table: { CatalogId: ref('AWS::AccountId'), DatabaseName: plan.database, TableWildcard: {} } },
        Permissions: ['DESCRIBE', 'SELECT', 'INSERT', 'DELETE', 'ALTER'],
        PermissionsWithGrantOption: [],
      },
    };
  }
  if (d.stream === 'create') r.Service.DependsOn = [...serviceDependsOn, 'Stream'];
  if (d.bucket === 'create') r.Service.DependsOn = [...((r.Service.DependsOn as string[] | undefined) ?? []), 'WarehouseBucket'];
  if (plan.leaseTable) r.Service.DependsOn = [...((r.Service.DependsOn as string[] | undefined) ?? []), 'LeaseTable'];
  r.Service.DependsOn = [...((r.Service.DependsOn as string[] | undefined) ?? []), 'GlueDatabase'];

  const sql = `SELECT * FROM ${config.table.name} ORDER BY 1 DESC LIMIT 10`;
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `floe: Kinesis stream ${plan.stream} to the Iceberg table ${config.table.name} (Glue), on ECS Fargate (generated by floe deploy)`,
    Resources: r,
    Outputs: {
      TableName: { Description: 'The Iceberg table (Glue Data Catalog)', Value: config.table.name },
      QueryCommand: { Description: 'Query it with Athena', Value: `floe query --engine athena --workgroup ${plan.workgroup} "${sql}"` },
      AwsCliQueryCommand: {
        Description: 'The same with the AWS CLI',
        Value: `aws athena start-query-execution --work-group ${plan.workgroup} --query-string "${sql}"`,
      },
      StreamName: { Description: 'Send events here', Value: plan.stream },
      StreamArn: { Description: 'The stream', Value: streamArn },
      WarehouseBucket: { Description: 'Table data and Athena results (kept by floe destroy)', Value: plan.bucket },
      AthenaWorkGroup: { Description: `Results go to ${resultsLocation}`, Value: ref('AthenaWorkGroup') },
      LogGroup: { Description: "The tasks' logs (JSON lines)", Value: ref('LogGroup') },
      Service: { Description: 'The ECS service running floe run', Value: att('Service', 'Name') },
      QueryPolicyArn: { Description: 'Attach to users or roles that query the table', Value: ref('QueryPolicy') },
      ...(plan.leaseTable ? { LeaseTable: { Description: 'The lease table (KCL layout)', Value: ref('LeaseTable') } } : {}),
    },
  };
}
