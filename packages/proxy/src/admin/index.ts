// Admin (:15000), stats (:15090) and readiness (:15021) servers.

export { certificatesOf, meshCertificates } from './certs.ts';
export { type AdminContext, type AdminServers, startAdminServers } from './servers.ts';
