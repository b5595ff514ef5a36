// Counts on the menu (approvals waiting for me, what is due in my 待办): each is asked of the
// server when the shell starts, again when a live notification of a kind that changes it
// arrives, and whenever a page asks (after a decision, on every new page).
import { onNotifications } from './notifications.js';

/**
 * A count read by `load()` (a promise of a number). `kinds` are the notification kind prefixes
 * that change it. Answers `{ subscribe(listener), refresh() }`.
 */
export function liveCount(load, kinds) {
  const listeners = new Set();
  let value = 0;
  const refresh = async () => {
    try {
      value = await load();
      for (const listener of listeners) listener(value);
    } catch {
      // A count is a hint on the menu; the page itself shows any error.
    }
  };
  onNotifications(({ notification }) => {
    if (kinds.some((kind) => notification?.kind?.startsWith(kind))) refresh();
  });
  return {
    refresh,
    subscribe(listener) {
      listeners.add(listener);
      listener(value);
      return () => listeners.delete(listener);
    },
  };
}
