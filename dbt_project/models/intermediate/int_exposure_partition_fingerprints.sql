-- The fingerprint (row count, sum of 64-bit row hashes) of each exposure partition, per load source, for
-- int_source_fingerprints: the loader's change log (raw.partition_fingerprints) where it accounts for the partition's
-- rows, a hash of the rows otherwise (exptrack_partition_fingerprints, as int_event_partition_fingerprints). A changed
-- exposure partition puts its units up for rebuilding in the exposure-side incremental models
-- (int_refresh_exposure_units).
{{ exptrack_partition_fingerprints('exposures') }}
-- depends_on: {{ source('raw', 'exposures') }}
-- depends_on: {{ source('raw', 'partition_fingerprints') }}
