-- q16, channel statistics per day: q15 per (channel, day), with the latest minute of the day
-- seen.
--
-- Differs from the reference suite as q15 does; a table with two key columns needs a key format
-- that holds more than one column (JSON here).

CREATE TABLE q16 WITH (key_format='JSON') AS
  SELECT channel,
         TIMESTAMPTOSTRING(date_time, 'yyyy-MM-dd', 'UTC') AS day,
         MAX(TIMESTAMPTOSTRING(date_time, 'HH:mm', 'UTC')) AS minute,
         COUNT(*) AS total_bids,
         COUNT(CASE WHEN price < 10000 THEN 1 END) AS rank1_bids,
         COUNT(CASE WHEN price >= 10000 AND price < 1000000 THEN 1 END) AS rank2_bids,
         COUNT(CASE WHEN price >= 1000000 THEN 1 END) AS rank3_bids,
         COUNT_DISTINCT(bidder) AS total_bidders,
         COUNT_DISTINCT(CASE WHEN price < 10000 THEN bidder END) AS rank1_bidders,
         COUNT_DISTINCT(CASE WHEN price >= 10000 AND price < 1000000 THEN bidder END) AS rank2_bidders,
         COUNT_DISTINCT(CASE WHEN price >= 1000000 THEN bidder END) AS rank3_bidders,
         COUNT_DISTINCT(auction) AS total_auctions,
         COUNT_DISTINCT(CASE WHEN price < 10000 THEN auction END) AS rank1_auctions,
         COUNT_DISTINCT(CASE WHEN price >= 10000 AND price < 1000000 THEN auction END) AS rank2_auctions,
         COUNT_DISTINCT(CASE WHEN price >= 1000000 THEN auction END) AS rank3_auctions
  FROM bid
  GROUP BY channel, TIMESTAMPTOSTRING(date_time, 'yyyy-MM-dd', 'UTC')
  EMIT CHANGES;
