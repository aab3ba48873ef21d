/**
 * `GET /images/{name}/history` (docker history), onto moat's `image.history`, in Docker's shape:
 * newest first, `Created` in Unix seconds, `Tags` on the newest row only.
 */
import { sendJson } from '../http.js';
import { enc, epoch, type Handler } from './handler.js';

interface Row {
  id: string;
  created: string;
  createdBy: string;
  size: number;
  comment: string;
  tags: string[];
}

export function historyItem(r: Row): Record<string, unknown> {
  return {
    Id: r.id,
    Created: epoch(r.created),
    CreatedBy: r.createdBy,
    Tags: r.tags.length ? r.tags : null,
    Size: r.size,
    Comment: r.comment,
  };
}

export const imageHistory: Handler = async ({ call, m, res }) => {
  const rows = (await call('GET', `/images/${enc(m[1])}/history`)) as Row[];
  sendJson(res, 200, rows.map(historyItem));
};
