-- q19, auction top-10: the ten highest prices bid on each auction.
--
-- Differs from the reference suite: Flink keeps the ten highest bids' whole rows
-- (ROW_NUMBER() ... <= 10); ksqlDB has no OVER clause, and TOPK keeps the ten highest prices as
-- an array per auction.

CREATE TABLE q19 AS
  SELECT auction, TOPK(price, 10) AS top_prices
  FROM bid
  GROUP BY auction
  EMIT CHANGES;
