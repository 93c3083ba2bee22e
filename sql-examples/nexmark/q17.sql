-- q17, auction statistics per day: bids per price range and min, max, average and sum of the
-- price, per (auction, day).
--
-- Differs from the reference suite as q15 does; AVG is a DOUBLE (Flink: the BIGINT average,
-- truncated); two key columns need the JSON key format.

CREATE TABLE q17 WITH (key_format='JSON') AS
  SELECT auction,
         TIMESTAMPTOSTRING(date_time, 'yyyy-MM-dd', 'UTC') AS day,
         COUNT(*) AS total_bids,
         COUNT(CASE WHEN price < 10000 THEN 1 END) AS rank1_bids,
         COUNT(CASE WHEN price >= 10000 AND price < 1000000 THEN 1 END) AS rank2_bids,
         COUNT(CASE WHEN price >= 1000000 THEN 1 END) AS rank3_bids,
         MIN(price) AS min_price,
         MAX(price) AS max_price,
         AVG(price) AS avg_price,
         SUM(price) AS sum_price
  FROM bid
  GROUP BY auction, TIMESTAMPTOSTRING(date_time, 'yyyy-MM-dd', 'UTC')
  EMIT CHANGES;
