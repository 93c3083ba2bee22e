-- 02-readings-per-location.sql: a table that counts and averages readings per location.
--
-- The same kind of sensor readings as 01-sensor-readings.sql. An aggregation (GROUP BY) turns a
-- stream into a table: one row per location, updated as each reading arrives. The table's
-- topic receives every update, and pull queries read the current row of a location.
-- See README.md in this directory for how to run this file and read the result.

-- Step 1: read new queries' input from the beginning of their topics.
SET 'auto.offset.reset' = 'earliest';

-- Step 2: the source stream.
CREATE STREAM location_readings (
    sensor_id     VARCHAR KEY,
    location      VARCHAR,
    temperature_c DOUBLE
) WITH (
    kafka_topic  = 'location-readings',
    partitions   = 1,
    value_format = 'JSON'
);

-- Step 3: the aggregation. The GROUP BY column becomes the table's key (it must be selected);
-- COUNT(*) counts the readings, AVG gives a DOUBLE and MAX the hottest one. The table lives in
-- the server (its state is kept in a changelog topic, so it survives restarts) and every change
-- is written to the topic PER_LOCATION.
CREATE TABLE per_location AS
    SELECT location,
           COUNT(*)           AS readings,
           AVG(temperature_c) AS avg_c,
           MAX(temperature_c) AS max_c
    FROM location_readings
    GROUP BY location;

-- Step 4: some readings.
INSERT INTO location_readings (sensor_id, location, temperature_c) VALUES ('sensor-1', 'greenhouse', 30.0);
INSERT INTO location_readings (sensor_id, location, temperature_c) VALUES ('sensor-2', 'cellar', 12.0);
INSERT INTO location_readings (sensor_id, location, temperature_c) VALUES ('sensor-5', 'greenhouse', 34.0);
INSERT INTO location_readings (sensor_id, location, temperature_c) VALUES ('sensor-1', 'greenhouse', 26.0);

-- Read the current row of a location with a pull query (through POST /query or the shell):
--   SELECT * FROM per_location WHERE location = 'greenhouse';
--   -> ["greenhouse", 3, 30.0, 34.0]
-- What the topic PER_LOCATION holds: one record per update, in order (the key is the location):
-- expect PER_LOCATION: {"key": "greenhouse", "value": {"READINGS": 1, "AVG_C": 30.0, "MAX_C": 30.0}}
-- expect PER_LOCATION: {"key": "cellar", "value": {"READINGS": 1, "AVG_C": 12.0, "MAX_C": 12.0}}
-- expect PER_LOCATION: {"key": "greenhouse", "value": {"READINGS": 2, "AVG_C": 32.0, "MAX_C": 34.0}}
-- expect PER_LOCATION: {"key": "greenhouse", "value": {"READINGS": 3, "AVG_C": 30.0, "MAX_C": 34.0}}
