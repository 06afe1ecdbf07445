"""Python requests behind creditgate: a Session that waits out creditgate's 429s and says what a
402 means.

    from creditgate_requests import creditgate_session, BudgetExhausted
    s = creditgate_session()           # HTTP(S)_PROXY from the environment, as requests does
    try:
        r = s.get("https://api.scraperapi.com/", params={"url": "https://example.com/"})
    except BudgetExhausted as e:
        print(e)                       # budget growth-scraperapi has 3 of 100000 credits left; ...

429 (concurrency_limit, rate_limited, queue_timeout, queue_full) carries Retry-After: urllib3's
Retry waits that long (respect_retry_after_header, on by default) before trying again. 402 is
not retried: the budget will say the same until it resets, so the caller gets an exception with
creditgate's message, the budget and the reset time.
"""

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry


class BudgetExhausted(Exception):
    def __init__(self, response):
        try:
            error = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            error = {"code": response.headers.get("X-Creditgate-Error", "budget_exhausted"), "message": response.text}
        self.code = error.get("code")
        self.budget = error.get("budget")
        self.reset_at = error.get("reset_at")
        self.response = response
        super().__init__(error.get("message", self.code))


def creditgate_session(retries=20):
    retry = Retry(total=retries, status=retries, connect=2, read=0, other=0, status_forcelist=[429],
                  allowed_methods=None,           # POST too: creditgate refused it before the vendor saw it
                  respect_retry_after_header=True, backoff_factor=0.5, raise_on_status=False)
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.hooks["response"].append(_raise_on_402)
    return session


def _raise_on_402(response, *args, **kwargs):
    if response.status_code == 402 and response.headers.get("X-Creditgate-Error"):
        raise BudgetExhausted(response)
    return response
