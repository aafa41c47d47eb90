// Types of the k8intel-sdk convenience layer. Messages are plain objects with lowerCamelCase
// fields as @grpc/proto-loader produces them (int64 as strings, enums as names); see
// proto/k8intel/v1/*.proto for their fields.
import type * as grpc from '@grpc/grpc-js';

export type Message = { [field: string]: any };

export interface CallOptions {
  /** Seconds; unary calls default to the client's timeout (30 s). */
  timeout?: number;
  deadline?: Date;
  metadata?: grpc.Metadata | { [key: string]: string };
}

export type UnaryMethod = (request: Message, options?: CallOptions) => Promise<Message>;

/** One gRPC service's RPCs, by proto name (ListPods) and lowerCamelCase (listPods). */
export interface Service {
  readonly client: grpc.Client;
  [method: string]: any;
}

export class Settings {
  endpoint: string;
  /** binary (inventory, ingest, correlation, ...) -> endpoint */
  endpoints: { [binary: string]: string };
  apiKey: string;
  agentToken: string;
  tls: boolean;
  caFile: string;
  certFile: string;
  keyFile: string;
  serverName: string;
  insecurePlaintext: boolean;
  timeout: number;
  constructor(fields?: Partial<Settings>);
  static fromEnv(env?: { [name: string]: string | undefined }): Settings;
  endpointOf(binary: string): string;
  /** Throws ConfigError as the k8i CLI refuses bad TLS settings. */
  validate(target: string): void;
}

export interface ConnectOptions extends Partial<Omit<Settings, 'endpoints'>> {
  endpoints?: { [binary: string]: string };
  env?: { [name: string]: string | undefined };
}

export class Client {
  readonly settings: Settings;
  readonly admin: Service;
  readonly clusters: Service;
  readonly resources: Service;
  readonly metrics: Service;
  readonly ingest: Service;
  readonly incidents: Service;
  readonly recommendations: Service;
  readonly simulation: Service;
  readonly costs: Service;
  readonly notifications: Service;
  constructor(settings: Settings);
  grpcClient(ctor: grpc.ServiceClientConstructor, binary: string, token?: string): grpc.Client;
  checkHealth(service?: string, options?: CallOptions): Promise<string>;
  close(): void;
}

export function connect(options?: ConnectOptions): Client;

export class ConfigError extends Error {}

export interface FieldViolation {
  field: string;
  description: string;
}

export interface ErrorInfo {
  reason: string;
  domain: string;
  metadata: { [key: string]: string };
}

export class K8iError extends Error {
  /** The numeric gRPC status code. */
  code: number;
  /** INVALID_ARGUMENT, NOT_FOUND, ... */
  codeName: string;
  details: string;
  fieldViolations: FieldViolation[];
  errorInfo: ErrorInfo | null;
  /** Seconds after which the same call may be retried. */
  retryDelay: number | null;
  status: { code: number; message: string; details: { type_url: string; value: Uint8Array }[] } | null;
  static fromServiceError(err: unknown): K8iError;
}

export const STATUS_DETAILS_KEY: 'grpc-status-details-bin';
export function decodeStatus(metadata: grpc.Metadata): K8iError['status'];

export function pages(method: UnaryMethod, request?: Message, options?: CallOptions): AsyncGenerator<Message>;
export function paginate(method: UnaryMethod, request?: Message, field?: string,
                         options?: CallOptions): AsyncGenerator<Message>;
export function isLoopback(target: string): boolean;
export function loadDefinitions(): grpc.GrpcObject;
export const SERVICES: { [property: string]: [service: string, binary: string] };
