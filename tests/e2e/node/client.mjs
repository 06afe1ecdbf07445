// A Node scraper as users write it: undici's EnvHttpProxyAgent reads HTTPS_PROXY, and
// NODE_EXTRA_CA_CERTS makes Node trust creditgate's CA. Prints {status, headers, body}.
import { EnvHttpProxyAgent, fetch } from "undici";

const url = process.argv[2];
const response = await fetch(url, { dispatcher: new EnvHttpProxyAgent() });
const body = await response.text();
console.log(JSON.stringify({ status: response.status, headers: Object.fromEntries(response.headers), body }));
