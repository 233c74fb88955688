-- The fingerprint (row count, sum of 64-bit row hashes) of each event partition, per load source, for
-- int_source_fingerprints (SQL: macros/exptrack_partition_fingerprints.sql). The loader records it for every day it
-- writes (raw.partition_fingerprints, its change log), so a daily run reads a few rows per day instead of hashing every
-- event of every day. A partition whose rows the log does not account for — a warehouse-table source loaded without the
-- loader, rows written by hand, a count that differs from the logged one, a warehouse without the log — is hashed here
-- instead (fingerprint_part `hashed <source>`), so a change is found whatever wrote it.
{{ exptrack_partition_fingerprints('events') }}
-- depends_on: {{ source('raw', 'events') }}
-- depends_on: {{ source('raw', 'partition_fingerprints') }}
