/**
 * An experiment, not floe's path: the AWS SDK v3 Kinesis client made to speak
 * `application/x-amz-cbor-1.1` (what Kinesis's Java SDK speaks by default), to measure CBOR
 * before choosing a protocol (issue 13).
 *
 * The JavaScript SDK has no such protocol: `@aws-sdk/client-kinesis` speaks `awsJson1_1`, and its
 * only CBOR protocol (`AwsSmithyRpcV2CborProtocol`) is Smithy RPC v2 CBOR, a different wire format
 * (`/service/…/operation/…` paths, `smithy-protocol: rpc-v2-cbor`), which Kinesis is not known to
 * serve. But the client takes a `protocol` class, and the JSON 1.1 protocol takes its codec as a
 * constructor argument: the JSON 1.1 protocol with `@smithy/core`'s CBOR codec and the CBOR
 * content type is x-amz-cbor-1.1. One fix is needed: the JSON protocol's error handler calls
 * `readObject` on the codec's deserializer, which the CBOR one names `readValue` (without it every
 * error response becomes a TypeError). Timestamps must come as tag-1 dates (kinesalite sends plain
 * numbers, which the codec hands on as numbers, not Dates).
 *
 * `@aws-sdk/core` and `@smithy/core` are the client's own dependencies (not floe's).
 */
import { KinesisClient, type KinesisClientConfig } from '@aws-sdk/client-kinesis';
import { AwsJson1_1Protocol } from '@aws-sdk/core/protocols';
import { CborCodec } from '@smithy/core/cbor';
import { NodeHttpHandler } from '@smithy/node-http-handler';

type Settings = ConstructorParameters<typeof AwsJson1_1Protocol>[0];

/** A CBOR codec whose deserializer also answers to `readObject` (see the module comment). */
function cborCodec(): CborCodec {
  const codec = new CborCodec();
  const create = codec.createDeserializer.bind(codec);
  codec.createDeserializer = () => {
    const d = create() as ReturnType<typeof create> & { readObject?: unknown };
    d.readObject ??= d.readValue.bind(d);
    return d;
  };
  return codec;
}

/** The AWS JSON 1.1 protocol, in CBOR: `application/x-amz-cbor-1.1`. */
export class AwsCbor1_1Protocol extends AwsJson1_1Protocol {
  constructor(settings: Settings) {
    super({ ...settings, jsonCodec: cborCodec() as never });
  }
  override async serializeRequest(...args: Parameters<AwsJson1_1Protocol['serializeRequest']>): ReturnType<AwsJson1_1Protocol['serializeRequest']> {
    const request = await super.serializeRequest(...args);
    request.headers['content-type'] = 'application/x-amz-cbor-1.1';
    // The JSON protocol puts `{}` in an empty body: an empty CBOR map instead.
    if (request.body === '{}') request.body = Uint8Array.of(0xa0);
    return request;
  }
  override getDefaultContentType(): string {
    return 'application/x-amz-cbor-1.1';
  }
}

/** A Kinesis client speaking x-amz-cbor-1.1 over HTTP/1.1 (as floe's own client does). */
export function cborKinesisClient(config: Omit<KinesisClientConfig, 'protocol' | 'requestHandler'>): KinesisClient {
  return new KinesisClient({ ...config, protocol: AwsCbor1_1Protocol as never, requestHandler: new NodeHttpHandler() });
}
