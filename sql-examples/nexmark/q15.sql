-- q15, bidding statistics per day: bids, distinct bidders and distinct auctions, in total and
-- per price range.
--
-- Differs from the reference suite in the functions: ksqlDB has no DATE_FORMAT (here
-- TIMESTAMPTOSTRING in UTC), no FILTER clause (here COUNT and COUNT_DISTINCT of a CASE that is
-- NULL outside the range; both skip NULLs) and writes COUNT(DISTINCT x) as COUNT_DISTINCT(x)
-- (exact in Flusso; ksqlDB's is a HyperLogLog estimate). The result is a table updated with
-- each bid.

CREATE TABLE q15 AS
  SELECT TIMESTAMPTOSTRING(date_time, 'yyyy-MM-dd', 'UTC') AS day,
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
  GROUP BY TIMESTAMPTOSTRING(date_time, 'yyyy-MM-dd', 'UTC')
  EMIT CHANGES;
