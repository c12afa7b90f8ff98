/** The parts of the untyped npm `radius` package (1.1.x) this project uses. */
declare module 'radius' {
  interface EncodeArgs {
    code: string;
    secret: string;
    identifier?: number;
    authenticator?: Buffer;
    attributes?: Array<[string | number, unknown]>;
    add_message_authenticator?: boolean;
  }
  interface Decoded {
    code: string;
    identifier: number;
    length: number;
    authenticator: Buffer;
    attributes: Record<string, unknown>;
    raw_attributes: Array<[number, Buffer]>;
  }
  const radius: {
    encode(args: EncodeArgs): Buffer;
    encode_response(args: { packet: Decoded; code: string; secret: string; attributes?: Array<[string | number, unknown]> }): Buffer;
    decode(args: { packet: Buffer; secret: string }): Decoded;
    decode_without_secret(args: { packet: Buffer }): Decoded;
  };
  export default radius;
}
