// The configuration resources users write (Istio's networking subset and Strait's own kinds): their
// schemas, document parsing and validation, the cross-resource reference checks, and host-name rules.
export * from './duration.ts';
export * from './field-hints.ts';
export * from './hosts.ts';
export * from './istio-fields.ts';
export * from './references.ts';
export * from './schemas.ts';
export * from './validate.ts';
