// The one error catalogue: every error Strait raises has a stable code, a message and (where it
// reaches a client) an HTTP status. A test checks every code is documented in docs/errors.md.

export interface ErrorSpec {
  readonly code: string;
  readonly status: number;
  readonly message: string;
}

/** Grouped by area. Codes never change meaning once released. */
export const Errors = {
  // Configuration and snapshots
  SNAPSHOT_INVALID: { code: 'STRAIT_SNAPSHOT_INVALID', status: 400, message: 'snapshot is invalid' },
  SNAPSHOT_APPLY_FAILED: {
    code: 'STRAIT_SNAPSHOT_APPLY_FAILED',
    status: 500,
    message: 'snapshot could not be applied',
  },
  CONFIG_PARSE: { code: 'STRAIT_CONFIG_PARSE', status: 400, message: 'configuration could not be parsed' },
  CONFIG_INVALID: { code: 'STRAIT_CONFIG_INVALID', status: 400, message: 'configuration is invalid' },
  CONFIG_DANGLING_REF: {
    code: 'STRAIT_CONFIG_DANGLING_REF',
    status: 400,
    message: 'configuration refers to something missing',
  },
  CONFIG_UNSUPPORTED: {
    code: 'STRAIT_CONFIG_UNSUPPORTED',
    status: 400,
    message: 'field is outside the supported subset',
  },
  CONFIG_UNKNOWN_FIELD: {
    code: 'STRAIT_CONFIG_UNKNOWN_FIELD',
    status: 400,
    message: 'unknown field',
  },
  CONFIG_TOO_COMPLEX: {
    code: 'STRAIT_CONFIG_TOO_COMPLEX',
    status: 400,
    message: 'configuration nests too deeply or has too many documents',
  },
  BOOTSTRAP_READ: { code: 'STRAIT_BOOTSTRAP_READ', status: 500, message: 'bootstrap file could not be read' },
  // Control plane API
  UNAUTHORIZED: { code: 'STRAIT_UNAUTHORIZED', status: 401, message: 'missing or wrong bearer token' },
  FORBIDDEN: {
    code: 'STRAIT_FORBIDDEN',
    status: 403,
    message: "the caller's identity does not allow this",
  },
  NOT_FOUND: { code: 'STRAIT_NOT_FOUND', status: 404, message: 'not found' },
  BAD_REQUEST: { code: 'STRAIT_BAD_REQUEST', status: 400, message: 'bad request' },
  PAYLOAD_TOO_LARGE: { code: 'STRAIT_PAYLOAD_TOO_LARGE', status: 413, message: 'request body too large' },
  UNSUPPORTED_MEDIA_TYPE: {
    code: 'STRAIT_UNSUPPORTED_MEDIA_TYPE',
    status: 415,
    message: 'unsupported content type',
  },
  PERSIST_FAILED: {
    code: 'STRAIT_PERSIST_FAILED',
    status: 500,
    message: 'configuration could not be written',
  },
  CONFLICT: {
    code: 'STRAIT_CONFLICT',
    status: 409,
    message: 'the resource changed since it was read',
  },
  STORE_UNAVAILABLE: {
    code: 'STRAIT_STORE_UNAVAILABLE',
    status: 503,
    message: 'the configuration store is unavailable',
  },
  // Identity (the control plane's CA)
  CSR_INVALID: {
    code: 'STRAIT_CSR_INVALID',
    status: 400,
    message: 'certificate signing request refused',
  },
  // Data plane (the response flag is Envoy's)
  NO_ROUTE: { code: 'STRAIT_NO_ROUTE', status: 404, message: 'no route matched' },
  NO_HEALTHY_UPSTREAM: { code: 'STRAIT_NO_HEALTHY_UPSTREAM', status: 503, message: 'no healthy upstream' },
  UPSTREAM_CONNECT_FAILURE: {
    code: 'STRAIT_UPSTREAM_CONNECT_FAILURE',
    status: 503,
    message: 'upstream connect error',
  },
  UPSTREAM_OVERFLOW: {
    code: 'STRAIT_UPSTREAM_OVERFLOW',
    status: 503,
    message: 'upstream overflow: circuit open',
  },
  UPSTREAM_TIMEOUT: { code: 'STRAIT_UPSTREAM_TIMEOUT', status: 504, message: 'upstream request timeout' },
  UPSTREAM_RESET: {
    code: 'STRAIT_UPSTREAM_RESET',
    status: 503,
    message: 'upstream connect error or disconnect/reset before headers',
  },
  RATE_LIMITED: { code: 'STRAIT_RATE_LIMITED', status: 429, message: 'local rate limit exceeded' },
  FAULT_ABORT: { code: 'STRAIT_FAULT_ABORT', status: 503, message: 'fault filter abort' },
  EGRESS_DENIED: { code: 'STRAIT_EGRESS_DENIED', status: 403, message: 'egress denied' },
  RBAC_DENIED: { code: 'STRAIT_RBAC_DENIED', status: 403, message: 'RBAC: access denied' },
  BAD_HTTP_REQUEST: { code: 'STRAIT_BAD_HTTP_REQUEST', status: 400, message: 'malformed request' },
  MISSING_HOST: {
    code: 'STRAIT_MISSING_HOST',
    status: 400,
    message: 'HTTP/1.1 request without a Host header',
  },
  INVALID_PATH: { code: 'STRAIT_INVALID_PATH', status: 400, message: 'request path could not be normalized' },
  OVERLOADED: {
    code: 'STRAIT_OVERLOADED',
    status: 503,
    message: 'overloaded: the listener is at its connection limit',
  },
  HEADERS_TOO_LARGE: {
    code: 'STRAIT_HEADERS_TOO_LARGE',
    status: 431,
    message: 'request header fields too large',
  },
  REQUEST_TIMEOUT: { code: 'STRAIT_REQUEST_TIMEOUT', status: 408, message: 'request timeout' },
  INTERNAL: { code: 'STRAIT_INTERNAL', status: 500, message: 'internal error' },
  URL_TOO_LONG: { code: 'STRAIT_URL_TOO_LONG', status: 414, message: 'request target too long' },
  DOWNSTREAM_DISCONNECT: {
    code: 'STRAIT_DOWNSTREAM_DISCONNECT',
    status: 499,
    message: 'client closed the request',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorName = keyof typeof Errors;

/** The catalogue entry with this code, e.g. for an error that crossed a thread or process boundary. */
export function errorSpecOf(code: string): ErrorSpec | undefined {
  return Object.values(Errors).find((spec) => spec.code === code);
}

/** An error with a catalogue code; `detail` says what exactly went wrong. */
export class StraitError extends Error {
  readonly code: string;
  readonly status: number;
  readonly detail: string | undefined;
  constructor(spec: ErrorSpec, detail?: string, options?: { cause?: unknown }) {
    super(detail ? `${spec.message}: ${detail}` : spec.message, options);
    this.name = 'StraitError';
    this.code = spec.code;
    this.status = spec.status;
    this.detail = detail;
  }
}

/** Envoy's response flags, as they appear in access logs and the response_flags label. */
export const ResponseFlags = {
  NONE: '-',
  NO_ROUTE: 'NR',
  NO_CLUSTER: 'NC',
  NO_HEALTHY_UPSTREAM: 'UH',
  UPSTREAM_CONNECT_FAILURE: 'UF',
  UPSTREAM_OVERFLOW: 'UO',
  UPSTREAM_TIMEOUT: 'UT',
  UPSTREAM_RESET: 'UC',
  RATE_LIMITED: 'RL',
  FAULT_DELAY: 'DI',
  FAULT_ABORT: 'FI',
  DOWNSTREAM_DISCONNECT: 'DC',
  UNAUTHORIZED_EXTERNAL: 'UAEX',
  RBAC_ACCESS_DENIED: 'RBAC',
  DOWNSTREAM_PROTOCOL_ERROR: 'DPE',
} as const;

export type ResponseFlag = (typeof ResponseFlags)[keyof typeof ResponseFlags];
