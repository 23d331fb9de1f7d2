// Config files for the reference proxies: nginx with one worker and a keep-alive upstream pool, and
// HAProxy with one thread and connection reuse. Both run in the foreground with their access logs off.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Address {
  host: string;
  port: number;
}

/** Writes nginx.conf under `dir` and returns the command line that runs it in the foreground. */
export function nginxCommand(nginx: string, dir: string, listen: Address, upstream: Address): string[] {
  const prefix = join(dir, 'nginx');
  for (const sub of ['logs', 'tmp']) mkdirSync(join(prefix, sub), { recursive: true });
  const conf = `# nginx for the Strait benchmark: one worker, one hop, keep-alive to the upstream.
daemon off;
master_process on;
worker_processes 1;
user root;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  keepalive_requests 1000000;
  upstream app {
    server ${upstream.host}:${upstream.port};
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen ${listen.host}:${listen.port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
  const file = join(prefix, 'nginx.conf');
  writeFileSync(file, conf);
  return [nginx, '-p', prefix, '-c', file, '-e', join(prefix, 'logs', 'error.log')];
}

/** Writes haproxy.cfg under `dir` and returns the command line that runs it in the foreground. */
export function haproxyCommand(haproxy: string, dir: string, listen: Address, upstream: Address): string[] {
  const conf = `# HAProxy for the Strait benchmark: one thread, one hop, server connections reused.
global
  nbthread 1
  maxconn 8192
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 30s
frontend bench
  bind ${listen.host}:${listen.port}
  default_backend app
backend app
  http-reuse always
  server app1 ${upstream.host}:${upstream.port}
`;
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, conf);
  return [haproxy, '-f', file, '-db'];
}
