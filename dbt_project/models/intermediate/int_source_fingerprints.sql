-- A fingerprint (row count, sum of 64-bit row hashes) of everything the incremental models read, per unit of change:
-- each partition of the events and of the exposures, the identity map, each metric (definition and events) and each
-- experiment (definition, variants, allocation phases, metrics), one row per table read (fingerprint_part).
-- int_refresh_scope compares it with the last run's (int_refresh_state) to find what changed, whatever loaded it
-- (ingestion, a re-sent file, an in-place source).
{% set hashed = [
    ('identity_map', ref('int_identity_map'), 'id_type'),
    ('metric', ref('stg_metrics'), 'metric_id'),
    ('metric', ref('stg_metric_events'), 'metric_id'),
    ('experiment', ref('stg_experiments'), 'experiment_id'),
    ('experiment', ref('stg_experiment_variants'), 'experiment_id'),
    ('experiment', ref('stg_experiment_allocation_phases'), 'experiment_id'),
    ('experiment', ref('stg_experiment_metrics'), 'experiment_id'),
] %}

-- Event and exposure partitions: from the loader's change log, hashed only where the log does not account for the rows.
select * from {{ ref('int_event_partition_fingerprints') }}
union all
select * from {{ ref('int_exposure_partition_fingerprints') }}
union all
{% for kind, relation, key in hashed %}
    select
        cast('{{ kind }}' as {{ dbt.type_string() }}) as fingerprint_kind,
        cast({{ key }} as {{ dbt.type_string() }}) as fingerprint_key,
        cast('{{ relation.identifier }}' as {{ dbt.type_string() }}) as fingerprint_part,
        cast(count(*) as {{ dbt.type_bigint() }}) as row_count,
        cast(sum({{ exptrack_row_hash(relation, 'hashed_rows') }}) as {{ dbt.type_string() }}) as row_hash_sum
    from {{ relation }} as hashed_rows  -- noqa: AL05
    group by {{ key }}
    {% if not loop.last %}union all{% endif %}
{% endfor %}
