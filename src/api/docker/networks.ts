/**
 * Docker's `GET /networks` and `GET /networks/{id}` (docker network ls / inspect) on moat's
 * network routes: the built-in networks none, slirp4netns and pasta, in Docker's shape. Creating,
 * connecting and removing networks are not offered yet (404 with Docker's message).
 */
import type { NetworkView } from '../network-routes.js';
import { sendJson } from '../http.js';
import { checkKeys, matchField, parseFilters } from './filters.js';
import { enc, type Handler } from './handler.js';

function dockerNetwork(n: NetworkView): Record<string, unknown> {
  return {
    Name: n.Name,
    Id: n.Id,
    Created: '0001-01-01T00:00:00Z',
    Scope: n.Scope,
    Driver: n.Driver,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: [] },
    Internal: n.Internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: {},
    Options: {},
    Labels: {},
  };
}

const FILTERS = ['name', 'id', 'driver'];

export const listNetworks: Handler = async ({ call, res, url }) => {
  const f = parseFilters(url.searchParams.get('filters'));
  checkKeys(f, FILTERS);
  const all = (await call('GET', '/networks')) as NetworkView[];
  sendJson(
    res,
    200,
    all
      .filter(
        (n) =>
          matchField(f, 'name', n.Name) && matchField(f, 'id', n.Id) && matchField(f, 'driver', n.Driver),
      )
      .map(dockerNetwork),
  );
};

export const inspectNetwork: Handler = async ({ call, m, res }) => {
  sendJson(res, 200, dockerNetwork((await call('GET', `/networks/${enc(m[1])}`)) as NetworkView));
};
