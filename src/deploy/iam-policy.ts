/**
 * The least-privilege IAM policies of floe, generated: `docs/iam/*.json` are these functions
 * applied to the reference system (a test checks they are equal), and the CloudFormation
 * template's task role is the writer policy applied to the stack's resources. One source: a test
 * checks `docs/iam` equals {@link iamDocs}; change the calls floe makes, change this file and the docs.
 */

/** One IAM policy statement. */
export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string[]>>;
}

/** An IAM policy document. */
export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

/** Where floe's resources are; every field is text placed into ARNs as it is (`${AWS::Region}` works). */
export interface WriterPolicyParams {
  partition: string;
  region: string;
  account: string;
  stream: string;
  bucket: string;
  /** Key prefix of the warehouse in the bucket (`warehouse`), no slashes around it. */
  warehousePrefix: string;
  database: string;
  /** The table, then its dead-letter table (same database). */
  tables: string[];
  /** `table.create`: floe creates the table (and the database, unless the stack does). */
  createTable: boolean;
  createDatabase: boolean;
}

/** What `floe run` calls: Kinesis reads, Glue catalog commits, S3 writes in the tables' prefixes. */
export function writerPolicy(p: WriterPolicyParams): PolicyDocument {
  const glue = `arn:${p.partition}:glue:${p.region}:${p.account}`;
  const s3 = `arn:${p.partition}:s3:::${p.bucket}`;
  const dbPrefix = `${p.warehousePrefix ? p.warehousePrefix + '/' : ''}${p.database}.db`;
  const statements: PolicyStatement[] = [
    {
      Sid: 'ReadTheStream',
      Effect: 'Allow',
      Action: ['kinesis:ListShards', 'kinesis:GetShardIterator', 'kinesis:GetRecords'],
      Resource: `arn:${p.partition}:kinesis:${p.region}:${p.account}:stream/${p.stream}`,
    },
    {
      Sid: 'CatalogTheTables',
      Effect: 'Allow',
      Action: [
        'glue:GetDatabase',
        ...(p.createDatabase ? ['glue:CreateDatabase'] : []),
        'glue:GetTable',
        ...(p.createTable ? ['glue:CreateTable'] : []),
        'glue:UpdateTable',
      ],
      Resource: [`${glue}:catalog`, `${glue}:database/${p.database}`, ...p.tables.map((t) => `${glue}:table/${p.database}/${t}`)],
    },
    {
      Sid: 'WriteTableFiles',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
      Resource: p.tables.map((t) => `${s3}/${dbPrefix}/${t}/*`),
    },
    {
      Sid: 'TellMissingFromForbidden',
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: s3,
      Condition: { StringLike: { 's3:prefix': [`${dbPrefix}/*`] } },
    },
  ];
  return { Version: '2012-10-17', Statement: statements };
}

/** Where the lease table of `source.application` is. */
export interface LeaseTablePolicyParams {
  partition: string;
  region: string;
  account: string;
  /** The table: `source.application`. */
  table: string;
  /** floe creates it when missing (`floe run`); false when a stack creates it. */
  createTable: boolean;
}

/**
 * What the workers of `source.application` call on their KCL-layout lease table
 * (`source/kinesis/leases/lease-table.ts`): described (and created when missing) at start, leases
 * scanned, read, taken, renewed and checkpointed; on that table alone.
 */
export function leaseTablePolicy(p: LeaseTablePolicyParams): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ShareTheStreamThroughTheLeaseTable',
        Effect: 'Allow',
        Action: [
          'dynamodb:DescribeTable',
          ...(p.createTable ? ['dynamodb:CreateTable'] : []),
          'dynamodb:Scan',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
        ],
        Resource: `arn:${p.partition}:dynamodb:${p.region}:${p.account}:table/${p.table}`,
      },
    ],
  };
}

/** The stream and enhanced fan-out consumer of `source.consumer`. */
export interface EfoConsumerPolicyParams {
  partition: string;
  region: string;
  account: string;
  stream: string;
  /** `source.consumer`. */
  consumer: string;
}

/**
 * What `source.consumer` (enhanced fan-out) adds to the writer policy
 * (`source/kinesis/efo-consumer.ts`, `efo-reader.ts`): the stream's ARN read once, the consumer
 * described and registered when missing (on the stream), SubscribeToShard on the consumer alone
 * (its ARN ends with the registration time: `:*`).
 */
export function efoConsumerPolicy(p: EfoConsumerPolicyParams): PolicyDocument {
  const stream = `arn:${p.partition}:kinesis:${p.region}:${p.account}:stream/${p.stream}`;
  const consumer = `${stream}/consumer/${p.consumer}:*`;
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'RegisterTheConsumer',
        Effect: 'Allow',
        Action: ['kinesis:DescribeStreamSummary', 'kinesis:RegisterStreamConsumer', 'kinesis:DescribeStreamConsumer'],
        Resource: stream,
      },
      {
        Sid: 'SubscribeThroughTheConsumer',
        Effect: 'Allow',
        Action: ['kinesis:DescribeStreamConsumer', 'kinesis:SubscribeToShard'],
        Resource: consumer,
      },
    ],
  };
}

/** Where Athena queries of floe's tables run. */
export interface QueryPolicyParams {
  partition: string;
  region: string;
  account: string;
  workgroup: string;
  bucket: string;
  warehousePrefix: string;
  database: string;
  /** Key prefix of Athena's results in the bucket (`athena-results`). */
  resultsPrefix: string;
}

/** What `floe query --engine athena` (or the Athena console) needs to read floe's tables. */
export function athenaQueryPolicy(p: QueryPolicyParams): PolicyDocument {
  const glue = `arn:${p.partition}:glue:${p.region}:${p.account}`;
  const s3 = `arn:${p.partition}:s3:::${p.bucket}`;
  const dbPrefix = `${p.warehousePrefix ? p.warehousePrefix + '/' : ''}${p.database}.db`;
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'RunQueries',
        Effect: 'Allow',
        Action: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution'],
        Resource: `arn:${p.partition}:athena:${p.region}:${p.account}:workgroup/${p.workgroup}`,
      },
      {
        Sid: 'ReadTheCatalog',
        Effect: 'Allow',
        Action: ['glue:GetDatabase', 'glue:GetDatabases', 'glue:GetTable', 'glue:GetTables'],
        Resource: [`${glue}:catalog`, `${glue}:database/${p.database}`, `${glue}:table/${p.database}/*`],
      },
      { Sid: 'ReadTableFiles', Effect: 'Allow', Action: 's3:GetObject', Resource: `${s3}/${dbPrefix}/*` },
      {
        Sid: 'WriteQueryResults',
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
        Resource: `${s3}/${p.resultsPrefix}/*`,
      },
      {
        Sid: 'ListTheBucket',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: s3,
        Condition: { StringLike: { 's3:prefix': [`${dbPrefix}/*`, `${p.resultsPrefix}/*`] } },
      },
      { Sid: 'FindTheResultsBucket', Effect: 'Allow', Action: 's3:GetBucketLocation', Resource: s3 },
    ],
  };
}

/** The reference system of `examples/aws.yaml` (`docs/iam/` is generated for it). */
export const REFERENCE_AWS = {
  partition: 'aws',
  region: 'ap-northeast-1',
  account: '123456789012',
  stream: 'glue-streaming-iceberg-stream',
  bucket: 'glue-streaming-iceberg-data-123456789012',
  warehousePrefix: 'warehouse',
  database: 'glue_streaming_iceberg_db',
  tables: ['streaming_events', 'streaming_events_dead_letters'],
  workgroup: 'primary',
  resultsPrefix: 'athena-results',
  application: 'glue-streaming-iceberg-ingest',
  consumer: 'glue-streaming-iceberg-ingest',
} as const;

/** `docs/iam/<file>` → its content, as generated (2-space JSON and a final newline). */
export function iamDocs(): Record<string, string> {
  const r = REFERENCE_AWS;
  const writer = writerPolicy({ ...r, tables: [...r.tables], createTable: true, createDatabase: true });
  const query = athenaQueryPolicy(r);
  const lease = leaseTablePolicy({ ...r, table: r.application, createTable: true });
  const efo = efoConsumerPolicy(r);
  return {
    'floe-writer-policy.json': JSON.stringify(writer, null, 2) + '\n',
    'floe-lease-table-policy.json': JSON.stringify(lease, null, 2) + '\n',
    'floe-efo-consumer-policy.json': JSON.stringify(efo, null, 2) + '\n',
    'floe-athena-query-policy.json': JSON.stringify(query, null, 2) + '\n',
  };
}
