"""Scrapy downloader middleware for spiders behind creditgate.

Copy this file next to your project's settings.py and enable it:

    DOWNLOADER_MIDDLEWARES = {"myproject.creditgate_scrapy.CreditgateMiddleware": 560}
    ROBOTSTXT_OBEY = False   # see below

What it does:
- 429 from creditgate (concurrency_limit, rate_limited, queue_timeout, queue_full: the
  X-Creditgate-Error header says which) is retried after the Retry-After it carries, up to
  CREDITGATE_MAX_RETRIES times (default 20) — Scrapy's own RetryMiddleware would retry at once,
  find the budget still busy, and drop the page after two tries. A vendor's own 429 (no
  X-Creditgate-Error) is left to RetryMiddleware.
- 402 budget_exhausted or upstream_credits_exhausted stops the spider cleanly (close reason
  "creditgate_budget_exhausted" / "creditgate_credits_exhausted") with creditgate's JSON message in
  the log: which budget, what is left, when it resets. Other pages of the same spider would get the
  same answer, so there is no point in sending them. 402 max_cost_exceeded only drops that page.
- robots.txt: with ROBOTSTXT_OBEY = True (the `scrapy startproject` default), Scrapy fetches
  /robots.txt from every host it calls, including the vendor's API host — a request the vendor
  may bill and that says nothing about the site you scrape through it. Set ROBOTSTXT_OBEY = False
  for spiders that call scraping APIs; the middleware warns at start when it is on.
- NO_PROXY: any host listed in NO_PROXY/no_proxy bypasses creditgate, so it is neither metered
  nor budgeted. The middleware warns at start when NO_PROXY is set.

Scrapy's HttpProxyMiddleware reads http_proxy/https_proxy (with the user:secret creditgate
expects) from the environment; Scrapy does not verify TLS certificates by default, so HTTPS
through creditgate's interception needs no CA setup.
"""

import json
import logging
import os

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from twisted.internet import reactor
from twisted.internet.task import deferLater

logger = logging.getLogger(__name__)

STOPPING_CODES = {"budget_exhausted": "creditgate_budget_exhausted",
                  "upstream_credits_exhausted": "creditgate_credits_exhausted"}


class CreditgateMiddleware:
    def __init__(self, crawler):
        self.crawler = crawler
        self.max_retries = crawler.settings.getint("CREDITGATE_MAX_RETRIES", 20)
        self.max_delay = crawler.settings.getfloat("CREDITGATE_MAX_RETRY_DELAY", 300.0)
        self.stopping = False
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("CREDITGATE_ENABLED", True):
            raise NotConfigured
        return cls(crawler)

    def spider_opened(self, spider):
        if self.crawler.settings.getbool("ROBOTSTXT_OBEY"):
            logger.warning("creditgate: ROBOTSTXT_OBEY is on: robots.txt of vendor API hosts will be requested "
                           "through the proxy; set ROBOTSTXT_OBEY = False for API spiders")
        if os.environ.get("NO_PROXY") or os.environ.get("no_proxy"):
            logger.warning("creditgate: NO_PROXY is set (%s): those hosts bypass creditgate, unmetered",
                           os.environ.get("NO_PROXY") or os.environ.get("no_proxy"))

    async def process_response(self, request, response, spider):
        code = response.headers.get(b"X-Creditgate-Error")
        if not code:
            return response  # the vendor's own answer: not ours to judge
        code = code.decode("latin-1")
        if response.status == 429:
            return await self._retry_later(request, response, code, spider)
        if response.status == 402 and code in STOPPING_CODES:
            self._stop(response, code, spider)
            raise IgnoreRequest(f"creditgate: {code}")
        return response

    async def _retry_later(self, request, response, code, spider):
        tries = request.meta.get("creditgate_retries", 0)
        if tries >= self.max_retries:
            logger.error("creditgate: giving up on %s after %d retries (%s)", request.url, tries, code)
            return response
        try:
            delay = float(response.headers.get(b"Retry-After", b"1").decode("latin-1"))
        except ValueError:
            delay = 1.0
        delay = max(0.0, min(delay, self.max_delay))
        logger.debug("creditgate: %s for %s, retrying in %.0f s", code, request.url, delay)
        self.crawler.stats.inc_value(f"creditgate/retry/{code}", spider=spider)
        await deferLater(reactor, delay, lambda: None)
        retry = request.replace(dont_filter=True)
        retry.meta["creditgate_retries"] = tries + 1
        return retry

    def _stop(self, response, code, spider):
        self.crawler.stats.inc_value(f"creditgate/refused/{code}", spider=spider)
        if self.stopping:
            return
        self.stopping = True
        try:
            message = json.loads(response.text)["error"]["message"]
        except (ValueError, KeyError, TypeError, AttributeError):
            message = response.text[:300]
        logger.error("creditgate: %s: %s; stopping the spider", code, message)
        self.crawler.engine.close_spider(spider, STOPPING_CODES[code])
