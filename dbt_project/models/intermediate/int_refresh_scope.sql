-- What changed since the incremental models were last brought up to date: one row per change, with the scope it
-- puts up for rebuilding (macros/exptrack_refresh_scope.sql). scope_kind: events (partitions from since_date on),
-- exposures (the exposure partition since_date: its units, int_refresh_exposure_units),
-- metric / experiment (scope_key: that metric's or experiment's rows), all (a full rebuild: no state yet, or the
-- identity map changed, which re-attributes events across units).
{% set state = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_refresh_state'
) if execute else none %}

with current_fingerprints as (

    select * from {{ ref('int_source_fingerprints') }}

),

previous_fingerprints as (

    {% if state is none %}
        select * from current_fingerprints
        where 1 = 0
    {% else %}
        select * from {{ state }}
    {% endif %}

),

changes as (

    select
        coalesce(current_fingerprints.fingerprint_kind, previous_fingerprints.fingerprint_kind) as fingerprint_kind,
        coalesce(current_fingerprints.fingerprint_key, previous_fingerprints.fingerprint_key) as fingerprint_key,
        case
            when previous_fingerprints.fingerprint_key is null then 'new'
            when current_fingerprints.fingerprint_key is null then 'removed'
            else 'changed'
        end as reason
    from current_fingerprints
    full outer join previous_fingerprints
        on current_fingerprints.fingerprint_kind = previous_fingerprints.fingerprint_kind
        and current_fingerprints.fingerprint_key = previous_fingerprints.fingerprint_key
        and current_fingerprints.fingerprint_part = previous_fingerprints.fingerprint_part
    where previous_fingerprints.fingerprint_key is null
        or current_fingerprints.fingerprint_key is null
        or current_fingerprints.row_count <> previous_fingerprints.row_count
        or current_fingerprints.row_hash_sum <> previous_fingerprints.row_hash_sum
    {% if state is none %}
        union all
        select
            'all' as fingerprint_kind,
            null as fingerprint_key,
            'no refresh state yet: every incremental model is rebuilt' as reason
    {% endif %}

),


scoped as (

    select
        case when fingerprint_kind = 'identity_map' then 'all' else fingerprint_kind end as scope_kind,
        case when fingerprint_kind in ('metric', 'experiment') then fingerprint_key end as scope_key,
        case when fingerprint_kind in ('events', 'exposures') then cast(fingerprint_key as date) end as since_date,
        fingerprint_kind || ' ' || coalesce(fingerprint_key, '') || ': ' || reason as reason
    from changes

)

select distinct
    cast(scope_kind as {{ dbt.type_string() }}) as scope_kind,
    cast(scope_key as {{ dbt.type_string() }}) as scope_key,
    since_date,
    cast(reason as {{ dbt.type_string() }}) as reason
from scoped
