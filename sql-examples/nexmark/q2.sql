-- q2, selection: bids on every 123rd auction. ksqlDB has no MOD function; `%` is the same
-- remainder.

CREATE STREAM q2 AS
  SELECT auction, price
  FROM bid
  WHERE auction % 123 = 0
  EMIT CHANGES;
