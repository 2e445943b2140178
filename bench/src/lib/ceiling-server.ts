/**
 * The ceiling: a bare `ws` broadcast server (no GraphQL, no Redis) that sends the same frame a
 * graphql-ws `next` message would carry to every connected socket. Runs in its own process.
 */
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('listening', () => {
  const addr = wss.address();
  process.send?.({ type: 'listening', port: typeof addr === 'object' && addr ? addr.port : 0 });
});
process.on('message', (m: { type: 'publish'; body: string } | { type: 'rss' } | { type: 'close' }) => {
  if (m.type === 'publish') {
    // Serialize once, send the same bytes to every socket: the best any server can do.
    const frame = JSON.stringify({ id: '1', type: 'next', payload: { data: { messageUpdated: { body: m.body } } } });
    for (const ws of wss.clients) ws.send(frame);
  } else if (m.type === 'rss') {
    process.send?.({ type: 'rss', rss: process.memoryUsage().rss, sockets: wss.clients.size });
  } else {
    wss.close();
    process.exit(0);
  }
});
// The scenario that started it is gone (killed, crashed): do not outlive it.
process.on('disconnect', () => process.exit(0));
