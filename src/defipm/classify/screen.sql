-- The token screen at one time, run by DuckDB (defipm.classify.screen). Point in time: only bars that closed by
-- $now (the close time of the last bar at or before the time asked for) are read.
--
-- Tables: bars(i, ts, j, n, close, prev, volume): one row per real bar (never a carried close), n = the token's
-- running bar count, prev = its previous real close (NULL at its first bar); tokens(j, symbol, asset, multiplier, categories, category_ok).
-- Only the span the longest window needs is scanned: a token without a bar in it is not trading at $now and
-- shows 0 bars.
-- Windows are half-open in time: "over the last D days" = bars with ts in ($now - D days, $now].

WITH recent AS (
    SELECT j, i, ts, n, close, prev, volume
    FROM bars
    WHERE ts > $scan_start AND ts <= $now
),
per_token AS (
    SELECT
        j,
        max(n) AS bars,
        max(ts) AS last_ts,
        arg_max(close, ts) AS close_now,
        arg_max(close, ts) FILTER (WHERE ts <= $return_start) AS close_start,
        count(*) FILTER (WHERE ts <= $longest_start) > 0 AS covered,
        avg(close) FILTER (WHERE ts > $short_start) AS ma_short,
        avg(close) FILTER (WHERE ts > $long_start) AS ma_long,
        -- no bar in the window: nothing traded (0), as a missing day inside it counts; NULL only when unknown
        CASE WHEN count(*) FILTER (WHERE ts > $return_start) = 0 THEN 0
             ELSE sum(volume) FILTER (WHERE ts > $return_start) / $window_days END AS volume
    FROM recent
    GROUP BY j
),
downside AS (  -- bar returns close / previous close - 1 within the Sortino window
    SELECT j, avg(close / prev - 1) AS mean_r, sqrt(avg(least(close / prev - 1, 0) ** 2)) AS downside
    FROM recent
    WHERE ts > $sortino_start AND prev IS NOT NULL
    GROUP BY j
),
metrics AS (
    SELECT
        t.j, t.symbol, t.asset, t.multiplier, t.categories, t.category_ok,
        coalesce(p.bars, 0) AS bars,
        p.close_now / p.close_start - 1 AS ret,
        p.ma_short, p.ma_long,
        p.ma_short / p.ma_long - 1 AS trend,
        p.volume,
        CASE WHEN d.downside > $risk_floor THEN  -- no risk (below the floor): undefined
            d.mean_r / d.downside * sqrt($periods_per_year) END AS sortino,
        coalesce(p.bars >= $min_bars AND p.covered AND p.last_ts >= $listed_since AND p.close_start > 0, false)
            AS history_ok
    FROM tokens t
    LEFT JOIN per_token p ON p.j = t.j
    LEFT JOIN downside d ON d.j = t.j
),
means AS (  -- cross-sectional means over the candidates: enough history, not excluded by category
    SELECT
        avg(ret) AS mean_return,
        avg(volume) AS mean_volume,
        avg(sortino) AS mean_sortino,
        count(*) AS candidates
    FROM metrics
    WHERE history_ok AND category_ok
),
judged AS (  -- the first rule each token fails, in order
    SELECT m.*, means.*, CASE
        WHEN NOT history_ok THEN 'history'
        WHEN NOT category_ok THEN 'category'
        WHEN NOT coalesce(ret > mean_return + $return_margin, false) THEN 'return'
        WHEN $trend AND NOT coalesce(ma_short > ma_long, false) THEN 'trend'
        WHEN $volume_threshold > 0 AND NOT coalesce(volume > $volume_threshold * mean_volume, false) THEN 'volume'
        WHEN $sortino_threshold IS NOT NULL
            AND NOT coalesce(sortino > mean_sortino * $sortino_threshold, false) THEN 'sortino'
    END AS rule
    FROM metrics m CROSS JOIN means
),
placed AS (
    SELECT *,
        row_number() OVER (PARTITION BY rule IS NULL ORDER BY ret DESC NULLS LAST, symbol) AS place,
        CASE WHEN ret IS NOT NULL THEN row_number() OVER (PARTITION BY ret IS NULL ORDER BY ret DESC, symbol) END
            AS rank
    FROM judged
)
SELECT
    symbol, asset, multiplier, categories, bars, ret AS "return", ma_short, ma_long, trend, volume, sortino,
    CASE WHEN rule IS NULL AND $top_n IS NOT NULL AND place > $top_n THEN 'top_n' ELSE rule END AS reason,
    rank, mean_return, mean_volume, mean_sortino, candidates
FROM placed
ORDER BY reason IS NOT NULL, ret DESC NULLS LAST, symbol
