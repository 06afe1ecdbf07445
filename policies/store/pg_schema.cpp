#include "policies/store/pg_schema.hpp"

namespace creditgate::policies {
namespace {

// Version 1. Amounts are numeric: µ of a unit, slots, or millionths of a token, beyond 64 bits
// when a fleet adds up extreme values. Budget windows are Unix seconds, as the books count them.
constexpr const char* schema_v1 = R"sql(
CREATE SEQUENCE creditgate_runs;

-- One row per running process ("run"); `name` is storage.instance. A run whose heartbeat is
-- older than ttl_s is reclaimed by the others (creditgate_reclaim).
CREATE TABLE creditgate_instances (
  run          bigint PRIMARY KEY,
  name         text NOT NULL,
  host         text NOT NULL,
  pid          integer NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- The central row of one budget window. Invariant: used + leased <= limit_amount whenever a
-- lease is taken (settlement drift may pass it, as on one instance). Rates keep their bucket in
-- `tokens`; what holders took from it is in `leased`.
CREATE TABLE creditgate_budget_rows (
  budget_key   text NOT NULL,
  period_start bigint NOT NULL,
  period_end   bigint NOT NULL,
  budget_id    text NOT NULL,
  kind         text NOT NULL,
  limit_amount numeric NOT NULL,
  used         numeric NOT NULL DEFAULT 0,
  leased       numeric NOT NULL DEFAULT 0,
  tokens       numeric NOT NULL DEFAULT 0,
  refill_per_s numeric NOT NULL DEFAULT 0,
  refilled_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (budget_key, period_start)
);

-- What one holder (a run's books; a reload makes new books) has of one window: cumulative
-- grants, spend and returns, so that a report that arrives twice counts once.
CREATE TABLE creditgate_leases (
  run          bigint NOT NULL,
  holder       integer NOT NULL,
  budget_key   text NOT NULL,
  period_start bigint NOT NULL,
  budget_id    text NOT NULL,
  uses_lease   boolean NOT NULL,
  granted      numeric NOT NULL DEFAULT 0,
  spent        numeric NOT NULL DEFAULT 0,
  returned     numeric NOT NULL DEFAULT 0,
  frozen       numeric NOT NULL DEFAULT 0,
  PRIMARY KEY (run, holder, budget_key, period_start)
);
CREATE INDEX creditgate_leases_by_row ON creditgate_leases (budget_key, period_start);

-- The ledger (SPEC §7), the SQLite ledger's columns plus the run that wrote the row.
-- id = run << 32 | a counter of the run.
CREATE TABLE creditgate_calls (
  id          bigint PRIMARY KEY,
  run         bigint NOT NULL,
  admitted_at bigint NOT NULL,
  finished_at bigint,
  request_id  text NOT NULL,
  client      text NOT NULL,
  team        text NOT NULL,
  vendor      text NOT NULL,
  account     text NOT NULL,
  method      text NOT NULL,
  host        text NOT NULL,
  path        text NOT NULL,
  status      integer NOT NULL DEFAULT 0,
  decision    text NOT NULL,
  estimate    bigint NOT NULL,
  actual      bigint NOT NULL DEFAULT 0,
  cost_usd    bigint,
  latency_ms  bigint NOT NULL DEFAULT 0
);
CREATE INDEX creditgate_calls_by_time ON creditgate_calls (admitted_at);
CREATE INDEX creditgate_calls_pending ON creditgate_calls (run) WHERE finished_at IS NULL;

-- Per-day sums of finished calls, as in SQLite: reports never scan whole days of calls.
CREATE TABLE creditgate_usage_daily (
  day         bigint NOT NULL,
  client      text NOT NULL,
  team        text NOT NULL,
  vendor      text NOT NULL,
  account     text NOT NULL,
  requests    bigint NOT NULL,
  succeeded   bigint NOT NULL,
  rejected    bigint NOT NULL,
  credits     numeric NOT NULL,
  cost_usd    numeric NOT NULL,
  latency_sum bigint NOT NULL,
  latency_n   bigint NOT NULL,
  PRIMARY KEY (day, client, team, vendor, account)
);

-- Vendor accounts' readings, exhausted marks and poll errors, shared by the fleet: each with
-- the time it was set (UTC ms), and the newest wins.
CREATE TABLE creditgate_accounts (
  id           text PRIMARY KEY,
  vendor       text NOT NULL,
  reading      bigint,
  source       text NOT NULL DEFAULT 'none',
  reading_ms   bigint NOT NULL DEFAULT 0,
  exhausted    boolean NOT NULL DEFAULT false,
  exhausted_ms bigint NOT NULL DEFAULT 0,
  poll_error   text,
  error_ms     bigint NOT NULL DEFAULT 0
);

-- One holder's report on one window, and its request for more: one call, one round trip.
-- Returns the grant and the fleet's figures as this holder sees them.
CREATE FUNCTION creditgate_report(
    p_run bigint, p_holder integer, p_key text, p_start bigint, p_end bigint, p_budget_id text,
    p_kind text, p_uses_lease boolean, p_limit numeric, p_refill_per_s numeric, p_seed numeric,
    p_spent numeric, p_returned numeric, p_frozen numeric, p_ask_min numeric, p_ask_want numeric,
    p_claim_least numeric, p_final boolean, p_instances integer,
    OUT grant_amount numeric, OUT denied boolean, OUT limit_amount numeric, OUT used numeric,
    OUT leased numeric, OUT others_frozen numeric, OUT tokens numeric, OUT granted numeric)
LANGUAGE plpgsql AS $$
DECLARE
  r creditgate_budget_rows%ROWTYPE;
  l creditgate_leases%ROWTYPE;
  held_before numeric;
  d_spent numeric;
  d_returned numeric;
  free numeric;
  g numeric;
BEGIN
  INSERT INTO creditgate_budget_rows AS b (budget_key, period_start, period_end, budget_id, kind, limit_amount,
                                           used, tokens, refill_per_s)
  VALUES (p_key, p_start, p_end, p_budget_id, p_kind, p_limit, COALESCE(p_seed, 0),
          CASE WHEN p_kind = 'rate' THEN p_limit ELSE 0 END, p_refill_per_s)
  ON CONFLICT (budget_key, period_start) DO NOTHING;
  -- The row is locked for the rest of the transaction: holders of one budget take turns here.
  SELECT * INTO r FROM creditgate_budget_rows b WHERE b.budget_key = p_key AND b.period_start = p_start FOR UPDATE;
  -- A changed limit (a reload) applies to the window from now on.
  IF r.limit_amount <> p_limit THEN
    UPDATE creditgate_budget_rows b SET limit_amount = p_limit WHERE b.budget_key = p_key AND b.period_start = p_start;
    r.limit_amount := p_limit;
  END IF;

  INSERT INTO creditgate_leases AS x (run, holder, budget_key, period_start, budget_id, uses_lease)
  VALUES (p_run, p_holder, p_key, p_start, p_budget_id, p_uses_lease)
  ON CONFLICT (run, holder, budget_key, period_start) DO NOTHING;
  SELECT * INTO l FROM creditgate_leases x
   WHERE x.run = p_run AND x.holder = p_holder AND x.budget_key = p_key AND x.period_start = p_start;

  -- Cumulative figures: what this report adds to the last one that arrived.
  held_before := GREATEST(0, l.granted - l.spent - l.returned);
  d_spent := GREATEST(0, p_spent - l.spent);
  d_returned := GREATEST(0, p_returned - l.returned);
  l.spent := GREATEST(l.spent, p_spent);
  l.returned := GREATEST(l.returned, p_returned);
  l.frozen := p_frozen;
  IF p_kind IN ('credits', 'money') THEN r.used := r.used + d_spent; END IF;
  IF p_uses_lease THEN
    -- leased = what each holder still holds; a holder whose calls cost more than their
    -- reservations holds nothing and takes nothing from the others.
    r.leased := r.leased + GREATEST(0, l.granted - l.spent - l.returned) - held_before;
    IF p_kind = 'rate' THEN r.tokens := r.tokens + d_returned; END IF;  -- unused tokens go back in the bucket
  END IF;
  IF p_kind = 'rate' THEN
    r.tokens := LEAST(r.limit_amount - r.leased,
                      r.tokens + floor(r.refill_per_s * EXTRACT(EPOCH FROM clock_timestamp() - r.refilled_at)));
    r.refilled_at := clock_timestamp();
  END IF;

  SELECT COALESCE(SUM(x.frozen), 0) INTO others_frozen FROM creditgate_leases x
   WHERE x.budget_key = p_key AND x.period_start = p_start AND NOT (x.run = p_run AND x.holder = p_holder);

  grant_amount := 0;
  denied := false;
  IF p_ask_min > 0 AND NOT p_final THEN
    free := CASE WHEN p_kind = 'rate' THEN r.tokens ELSE r.limit_amount - r.used - r.leased END;
    -- Never more than half of an even share of what is left: near the limit every call asks for itself.
    g := LEAST(free, p_ask_want, GREATEST(p_ask_min, floor(free / (2 * GREATEST(1, p_instances)))));
    IF g >= p_ask_min AND g > 0 THEN
      grant_amount := g;
      r.leased := r.leased + GREATEST(0, l.granted + g - l.spent - l.returned) - GREATEST(0, l.granted - l.spent - l.returned);
      l.granted := l.granted + g;
      IF p_kind = 'rate' THEN r.tokens := r.tokens - g; END IF;
    ELSE
      -- Refused only when one instance alone would refuse too: not even the smallest waiting
      -- call fits beside what is used and reserved everywhere. Otherwise others hold spare
      -- lease they return within flush_ms (and keep none near the limit): the holder asks again.
      denied := p_kind = 'rate' OR
                r.limit_amount - (CASE WHEN p_kind = 'concurrency' THEN 0 ELSE r.used END) - others_frozen - p_frozen
                  < GREATEST(p_claim_least, 1);
    END IF;
  END IF;
  IF p_final THEN
    r.leased := r.leased - GREATEST(0, l.granted - l.spent - l.returned);
  END IF;

  -- The guard: a take never leaves used + leased above the limit (rates: never more tokens
  -- out than the bucket holds). Should the arithmetic above ever disagree, the take fails here.
  UPDATE creditgate_budget_rows b
     SET used = r.used, leased = r.leased, tokens = r.tokens, refilled_at = r.refilled_at
   WHERE b.budget_key = p_key AND b.period_start = p_start
     AND (grant_amount = 0 OR (CASE WHEN p_kind = 'rate' THEN r.tokens >= 0 ELSE r.used + r.leased <= r.limit_amount END));
  IF NOT FOUND THEN
    RAISE EXCEPTION 'creditgate: a lease of % on % would pass its limit', grant_amount, p_key;
  END IF;

  IF p_final THEN
    DELETE FROM creditgate_leases x
     WHERE x.run = p_run AND x.holder = p_holder AND x.budget_key = p_key AND x.period_start = p_start;
  ELSE
    UPDATE creditgate_leases x SET granted = l.granted, spent = l.spent, returned = l.returned, frozen = l.frozen
     WHERE x.run = p_run AND x.holder = p_holder AND x.budget_key = p_key AND x.period_start = p_start;
  END IF;

  limit_amount := r.limit_amount;
  used := r.used;
  leased := r.leased;
  tokens := r.tokens;
  granted := l.granted;
END $$;

-- A run that went silent: what it held goes back to the central rows, and what it had
-- reserved counts as used (SPEC §7: a pending call counts at its reservation). Its pending
-- rows stay pending, as after a crash on one instance.
CREATE FUNCTION creditgate_reclaim(p_run bigint) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  l record;
  n integer := 0;
BEGIN
  FOR l IN SELECT x.*, b.kind FROM creditgate_leases x
             JOIN creditgate_budget_rows b USING (budget_key, period_start)
            WHERE x.run = p_run ORDER BY x.budget_key, x.period_start FOR UPDATE OF b LOOP
    UPDATE creditgate_budget_rows b
       SET used = b.used + CASE WHEN l.kind IN ('credits', 'money') THEN l.frozen ELSE 0 END,
           leased = b.leased - CASE WHEN l.uses_lease THEN GREATEST(0, l.granted - l.spent - l.returned) ELSE 0 END
     WHERE b.budget_key = l.budget_key AND b.period_start = l.period_start;
    n := n + 1;
  END LOOP;
  DELETE FROM creditgate_leases x WHERE x.run = p_run;
  DELETE FROM creditgate_instances i WHERE i.run = p_run;
  RETURN n;
END $$;
)sql";

// Version 2: the retention pass (pg_prune). Finished calls admitted before pruned_before (UTC
// ms, a midnight) may be gone; their days are in creditgate_usage_daily.
constexpr const char* schema_v2 = R"sql(
CREATE TABLE creditgate_retention (
  id            integer PRIMARY KEY CHECK (id = 1),
  pruned_before bigint NOT NULL
);
INSERT INTO creditgate_retention VALUES (1, 0);
)sql";

// Version 3: alerts sent (SPEC §12), once for the whole fleet.
constexpr const char* schema_v3 = R"sql(
CREATE TABLE creditgate_alerts_sent (
  key     text PRIMARY KEY,
  sent_at bigint NOT NULL
);
)sql";

}  // namespace

bool migrate_pg_schema(pg_connection& db, std::string& error) {
    // One transaction under a transaction-scoped advisory lock: a second instance starting at
    // the same moment waits here, then finds the schema made.
    auto fail = [&] {
        error = "cannot create the ledger's tables: " + db.error();
        db.run("ROLLBACK");
        return false;
    };
    if (!db.run("BEGIN") || !db.run("SELECT pg_advisory_xact_lock(hashtext('creditgate_schema'))")) return fail();
    if (!db.run("CREATE TABLE IF NOT EXISTS creditgate_schema (version integer NOT NULL)")) return fail();
    auto current = db.query("SELECT COALESCE(MAX(version), 0) FROM creditgate_schema");
    if (!current) return fail();
    const std::int64_t version = current->int64(0, 0);
    if (version > pg_schema_version) {
        db.run("ROLLBACK");
        error = "the database's ledger schema is version " + std::to_string(version) + ", newer than this creditgate's (" +
                std::to_string(pg_schema_version) + "): upgrade creditgate";
        return false;
    }
    if (version < 1 && (!db.run(schema_v1) || !db.run("INSERT INTO creditgate_schema VALUES (1)"))) return fail();
    if (version < 2 && (!db.run(schema_v2) || !db.run("INSERT INTO creditgate_schema VALUES (2)"))) return fail();
    if (version < 3 && (!db.run(schema_v3) || !db.run("INSERT INTO creditgate_schema VALUES (3)"))) return fail();
    if (!db.run("COMMIT")) return fail();
    return true;
}

}  // namespace creditgate::policies
