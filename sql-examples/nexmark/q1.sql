-- q1, currency conversion: each bid's price in euro. As in the reference suite: the literal
-- 0.908 is a DECIMAL, so the price is DECIMAL(24, 3) (Flink: DECIMAL(23, 3)).

CREATE STREAM q1 AS
  SELECT auction, bidder, 0.908 * price AS price, date_time, extra
  FROM bid
  EMIT CHANGES;
