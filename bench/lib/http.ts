// "The pod is serving": a GET on the hostPort returns the page the writer container wrote.
//
// Raw TCP with HTTP/1.0 instead of fetch/http: about 0.2 ms per poll on loopback, so polling
// adds little to the figure. Loopback only: the benchmark never talks to other hosts.

import net from 'node:net';

function getOnce(port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const done = (v: string | null) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(timeoutMs, () => done(null));
    sock.on('connect', () => sock.write('GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n'));
    sock.on('data', (c) => chunks.push(c));
    sock.on('end', () => done(Buffer.concat(chunks).toString('latin1')));
    sock.on('error', () => done(null));
  });
}

/** Is anything answering on the port right now? */
export async function answering(port: number): Promise<boolean> {
  return (await getOnce(port, 300)) !== null;
}

/** Polls until a 200 whose body contains `body`; resolves with the number of polls, rejects after timeoutMs. */
export async function waitServing(port: number, body: string, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (let polls = 1; ; polls++) {
    const r = await getOnce(port, 1000);
    if (r && /^HTTP\/1\.[01] 200/.test(r) && r.includes(body)) return polls;
    if (performance.now() > deadline) throw new Error(`127.0.0.1:${port} did not serve "${body}" within ${timeoutMs} ms (last answer: ${r?.split('\r\n')[0] ?? 'none'})`);
    if (!r) await new Promise((res) => setImmediate(res));
  }
}
