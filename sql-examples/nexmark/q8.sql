-- q8, monitor new users: persons who opened an auction in the same 10-second tumbling window
-- as they registered.
--
-- Differs from the reference suite: Flink groups each side by id and window, then joins the two
-- window aggregates, so each (person, window) comes out once. Here a windowed stream-stream
-- join, WITHIN 10 SECONDS (two times in one 10-second window are less than 10 s apart) with a
-- WHERE keeping pairs of the same window; it emits one row per matching auction, so a person
-- appears once per auction they opened in the window (the distinct rows are Flink's).

CREATE STREAM q8 AS
  SELECT p.id, p.name, (p.date_time / 10000) * 10000 AS starttime
  FROM person p JOIN auction a WITHIN 10 SECONDS GRACE PERIOD 1 SECOND ON p.id = a.seller
  WHERE p.date_time / 10000 = a.date_time / 10000
  EMIT CHANGES;
