-- q0, pass through: every bid, five of its columns. As in the reference suite.

CREATE STREAM q0 AS
  SELECT auction, bidder, price, date_time, extra
  FROM bid
  EMIT CHANGES;
