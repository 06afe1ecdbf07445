// Node's fetch behind creditgate: the proxy from HTTP(S)_PROXY/NO_PROXY through undici's
// EnvHttpProxyAgent (undici >= 6.9; `npm install undici`), creditgate's 429s waited out by their
// Retry-After, its 402s thrown as BudgetExhausted with the JSON message. Use https:// vendor URLs:
// undici tunnels every request with CONNECT (http:// ones too, to port 80, which creditgate does
// not intercept), and creditgate meters what it intercepts on 443.
//
//   import { creditgateFetch, BudgetExhausted } from './creditgate_fetch.mjs';
//   const res = await creditgateFetch('https://api.scraperapi.com/?api_key=K&url=https://example.com/');
//
// Node >= 24 can do the proxy part without undici: NODE_USE_ENV_PROXY=1 makes the built-in fetch
// read HTTP(S)_PROXY; the retry and 402 handling below still apply. HTTPS through creditgate's
// interception needs its CA: NODE_EXTRA_CA_CERTS=creditgate-ca.pem.
// undici's own fetch with its agent: Node's global fetch bundles another undici version, and a
// dispatcher from one is not guaranteed to work with the other.
import { EnvHttpProxyAgent, fetch } from 'undici';

const dispatcher = new EnvHttpProxyAgent();

export class BudgetExhausted extends Error {
  constructor(error) {
    super(error.message ?? error.code);
    this.code = error.code;
    this.budget = error.budget;
    this.resetAt = error.reset_at;
  }
}

export async function creditgateFetch(url, init = {}, { retries = 20, maxDelayS = 300 } = {}) {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(url, { ...init, dispatcher });
    const code = res.headers.get('x-creditgate-error');
    if (!code) return res;  // the vendor's answer, whatever its status
    if (res.status === 429 && attempt < retries) {
      const after = Number(res.headers.get('retry-after') ?? 1);
      await res.arrayBuffer();  // free the connection for the retry
      await new Promise((r) => setTimeout(r, Math.min(Number.isFinite(after) ? after : 1, maxDelayS) * 1000));
      continue;
    }
    if (res.status === 402) {
      const body = await res.json().catch(() => ({ error: { code } }));
      throw new BudgetExhausted(body.error ?? { code });
    }
    return res;
  }
}
