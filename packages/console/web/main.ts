// The console page: a header with the pages (graph, proxies, config, egress, traces) and the link's state,
// a hash router (#/graph, #/proxies/<id>, #/traces/<id>, …) and the live stream that feeds every page.
import type { ConsoleState } from '@strait/api/console';
import { h, replace } from './dom.ts';
import { clock } from './format.ts';
import { connect, type LinkState } from './live.ts';
import { ConfigPage } from './views/config.ts';
import { EgressPage } from './views/egress.ts';
import { GraphPage } from './views/graph.ts';
import { ProxiesPage } from './views/proxies.ts';
import { ProxyPage } from './views/proxy.ts';
import { TracesPage } from './views/traces.ts';

const graph = new GraphPage();
const proxies = new ProxiesPage();
const proxy = new ProxyPage();
const config = new ConfigPage();
const egress = new EgressPage();
const traces = new TracesPage();
const pages = { graph, proxies, proxy, config, egress, traces };
type PageName = keyof typeof pages;

const NAV: [PageName, string][] = [
  ['graph', 'Graph'],
  ['proxies', 'Proxies'],
  ['config', 'Config'],
  ['egress', 'Egress'],
  ['traces', 'Traces'],
];

const linkStatus = h(
  'span',
  { class: 'link connecting', role: 'status', 'aria-live': 'polite' },
  'connecting…',
);
const banner = h('div', { class: 'banner', role: 'alert', hidden: true });
const navLinks = NAV.map(([name, label]) => h('a', { href: `#/${name}`, 'data-page': name }, label));
const main = h('main', { id: 'main', tabindex: -1 }, ...Object.values(pages).map((p) => p.el));

document.body.append(
  h('a', { class: 'skip', href: '#main' }, 'Skip to content'),
  h(
    'header',
    {},
    h('span', { class: 'brand' }, 'Strait'),
    h('nav', { 'aria-label': 'Pages' }, ...navLinks),
    linkStatus,
  ),
  banner,
  main,
);

let current: ConsoleState | undefined;
let lastUpdate = '';

function route(): void {
  const hash = location.hash.replace(/^#\/?/, '');
  const [first, ...rest] = hash.split('/');
  let name: PageName = (NAV.find(([n]) => n === first)?.[0] ?? 'graph') as PageName;
  if (first === 'proxies' && rest.length > 0) name = 'proxy';
  for (const [n, page] of Object.entries(pages)) page.el.hidden = n !== name;
  for (const a of navLinks) {
    const active = a.dataset.page === (name === 'proxy' ? 'proxies' : name);
    if (active) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${name === 'proxy' ? decodeURIComponent(rest.join('/')) : (NAV.find(([n]) => n === name)?.[1] ?? '')} · Strait console`;
  if (name === 'proxy') proxy.show(decodeURIComponent(rest.join('/')));
  if (name === 'traces') traces.show(rest[0] ? decodeURIComponent(rest[0]) : undefined);
  if (name === 'graph') graph.shown();
  if (current) render(current);
}

function render(state: ConsoleState): void {
  // Hidden pages are brought up to date too, so switching pages shows current numbers at once.
  graph.update(state);
  proxies.update(state);
  config.update(state);
  egress.update(state);
  if (!proxy.el.hidden) proxy.refresh(state);
  if (!traces.el.hidden) traces.refresh();
}

function setLink(state: LinkState): void {
  linkStatus.className = `link ${state}`;
  if (state === 'live') {
    replace(linkStatus, `live${lastUpdate ? ` · ${lastUpdate}` : ''}`);
    banner.hidden = true;
  } else if (state === 'lost') {
    replace(linkStatus, 'reconnecting…');
    replace(
      banner,
      'Lost the connection to the control plane. Reconnecting… the numbers below are from ',
      h('strong', {}, lastUpdate || 'before'),
      '.',
    );
    banner.hidden = false;
  } else replace(linkStatus, 'connecting…');
}

window.addEventListener('hashchange', route);
connect({
  state(state) {
    current = state;
    lastUpdate = clock(state.at);
    render(state);
    setLink('live');
  },
  link: setLink,
});
route();

/** A handle for the curious (and for the browser tests): the drawn graph and the last state. */
Object.assign(window, { straitConsole: { graph: () => graph.cy, state: () => current } });
