-- q14, calculation: converted prices in a range, the time of day of each bid and how many 'c'
-- its extra text holds.
--
-- Differs from the reference suite in the functions: ksqlDB has no HOUR(), so the hour (UTC) is
-- `(date_time / 3600000) % 24`; the reference's user-defined count_char(extra, 'c') is
-- `LEN(extra) - LEN(REPLACE(extra, 'c', ''))`.

CREATE STREAM q14 AS
  SELECT auction, bidder, 0.908 * price AS price,
         CASE
           WHEN (date_time / 3600000) % 24 >= 8 AND (date_time / 3600000) % 24 <= 18 THEN 'dayTime'
           WHEN (date_time / 3600000) % 24 <= 6 OR (date_time / 3600000) % 24 >= 20 THEN 'nightTime'
           ELSE 'otherTime'
         END AS bid_time_type,
         date_time, extra,
         LEN(extra) - LEN(REPLACE(extra, 'c', '')) AS c_counts
  FROM bid
  WHERE 0.908 * price > 1000000 AND 0.908 * price < 50000000
  EMIT CHANGES;
