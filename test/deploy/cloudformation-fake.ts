/**
 * A CloudFormation stand-in on 127.0.0.1 speaking the AWS Query protocol the SDK uses (form
 * bodies in, XML out), enough for `floe deploy`/`floe destroy`: DescribeStacks, CreateStack,
 * UpdateStack, DeleteStack, DescribeStackEvents. A stack in progress completes at the second
 * DescribeStacks after the change; `failCreate` makes a creation fail on a resource and roll back.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

interface FakeStack {
  id: string;
  name: string;
  status: string;
  template: string;
  /** DescribeStacks calls left before an in-progress status settles. */
  pending: number;
  settle: string;
  events: { id: string; resource: string; status: string; reason?: string; at: Date }[];
}

/** A request as the fake saw it: the action and its form parameters. */
export interface FakeRequest {
  action: string;
  params: URLSearchParams;
}

export interface CloudFormationFake {
  url: string;
  requests: FakeRequest[];
  stacks: Map<string, FakeStack>;
  /** The next CreateStack fails on this resource with this reason (then ROLLBACK_COMPLETE). */
  failCreate: { resource: string; reason: string } | undefined;
  close(): Promise<void>;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

function ok(action: string, result: string): string {
  return `<${action}Response xmlns="${NS}"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></${action}Response>`;
}

function error(code: string, message: string): string {
  return `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${esc(message)}</Message></Error><RequestId>fake</RequestId></ErrorResponse>`;
}

export async function startCloudFormationFake(): Promise<CloudFormationFake> {
  const stacks = new Map<string, FakeStack>();
  const requests: FakeRequest[] = [];
  let n = 0;
  const find = (nameOrId: string) => [...stacks.values()].find((s) => s.name === nameOrId || s.id === nameOrId);
  const event = (s: FakeStack, resource: string, status: string, reason?: string) =>
    s.events.push({ id: `e${++n}`, resource, status, ...(reason ? { reason } : {}), at: new Date() });
  const fake: CloudFormationFake = {
    url: '',
    requests,
    stacks,
    failCreate: undefined,
    close: () => new Promise((r) => server.close(() => r())),
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const params = new URLSearchParams(body);
      const action = params.get('Action') ?? '';
      requests.push({ action, params });
      const send = (status: number, xml: string) => {
        res.writeHead(status, { 'content-type': 'text/xml' });
        res.end(xml);
      };
      const name = params.get('StackName') ?? '';
      const s = find(name);
      const missing = () => send(400, error('ValidationError', `Stack with id ${name} does not exist`));
      switch (action) {
        case 'DescribeStacks': {
          if (!s) return missing();
          if (s.pending > 0 && --s.pending === 0) {
            s.status = s.settle;
            event(s, s.name, s.status);
          }
          if (s.status === 'DELETE_COMPLETE') {
            stacks.delete(s.name);
            return missing();
          }
          let outputs = '';
          if (s.status.endsWith('_COMPLETE')) {
            const t = JSON.parse(s.template) as { Outputs?: Record<string, { Value: unknown }> };
            outputs = Object.entries(t.Outputs ?? {})
              .map(([k, o]) => `<member><OutputKey>${k}</OutputKey><OutputValue>${esc(typeof o.Value === 'string' ? o.Value : 'resolved')}</OutputValue></member>`)
              .join('');
          }
          return send(
            200,
            ok(
              'DescribeStacks',
              `<Stacks><member><StackId>${s.id}</StackId><StackName>${s.name}</StackName><CreationTime>2026-01-01T00:00:00Z</CreationTime><StackStatus>${s.status}</StackStatus><Outputs>${outputs}</Outputs></member></Stacks>`,
            ),
          );
        }
        case 'CreateStack': {
          if (s) return send(400, error('AlreadyExistsException', `Stack [${name}] already exists`));
          const id = `arn:aws:cloudformation:ap-northeast-1:123456789012:stack/${name}/${++n}`;
          const t: FakeStack = { id, name, status: 'CREATE_IN_PROGRESS', template: params.get('TemplateBody') ?? '', pending: 2, settle: 'CREATE_COMPLETE', events: [] };
          stacks.set(name, t);
          event(t, name, 'CREATE_IN_PROGRESS', 'User Initiated');
          if (fake.failCreate) {
            event(t, fake.failCreate.resource, 'CREATE_FAILED', fake.failCreate.reason);
            t.settle = 'ROLLBACK_COMPLETE';
            fake.failCreate = undefined;
          }
          return send(200, ok('CreateStack', `<StackId>${id}</StackId>`));
        }
        case 'UpdateStack': {
          if (!s) return missing();
          if (params.get('TemplateBody') === s.template) return send(400, error('ValidationError', 'No updates are to be performed.'));
          s.template = params.get('TemplateBody') ?? '';
          s.status = 'UPDATE_IN_PROGRESS';
          s.pending = 2;
          s.settle = 'UPDATE_COMPLETE';
          event(s, name, s.status, 'User Initiated');
          return send(200, ok('UpdateStack', `<StackId>${s.id}</StackId>`));
        }
        case 'DeleteStack': {
          if (s) {
            s.status = 'DELETE_IN_PROGRESS';
            s.pending = 2;
            s.settle = 'DELETE_COMPLETE';
            event(s, s.name, s.status, 'User Initiated');
          }
          return send(200, `<DeleteStackResponse xmlns="${NS}"><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></DeleteStackResponse>`);
        }
        case 'DescribeStackEvents': {
          if (!s) return missing();
          const members = [...s.events]
            .reverse()
            .map(
              (e) =>
                `<member><StackId>${s.id}</StackId><EventId>${e.id}</EventId><StackName>${s.name}</StackName><LogicalResourceId>${e.resource}</LogicalResourceId>` +
                `<Timestamp>${e.at.toISOString()}</Timestamp><ResourceStatus>${e.status}</ResourceStatus>${e.reason ? `<ResourceStatusReason>${esc(e.reason)}</ResourceStatusReason>` : ''}</member>`,
            )
            .join('');
          return send(200, ok('DescribeStackEvents', `<StackEvents>${members}</StackEvents>`));
        }
        default:
          return send(400, error('InvalidAction', `fake: ${action} not supported`));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
