-- q11, user sessions: bids per bidder per session (a session ends after 10 seconds without a
-- bid).
--
-- As in the reference suite, except the session's end: ksqlDB's session window ends at its last
-- record, Flink's SESSION_END is the last record plus the gap (10 s later). The result is a
-- table, updated with each bid (Flink emits each session once, when it closes).

CREATE TABLE q11 AS
  SELECT bidder, COUNT(*) AS bid_count, WINDOWSTART AS starttime, WINDOWEND AS endtime
  FROM bid
  WINDOW SESSION (10 SECONDS)
  GROUP BY bidder
  EMIT CHANGES;
