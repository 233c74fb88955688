-- Every observed link between a user id and an anonymous or device id, with when it was first seen: the sources'
-- identify / alias / merge records, and exposures and events that carry a user id together with another id.
{{ config(materialized='view') }}

with identities as (

    select * from {{ ref('stg_identities') }}

),

exposures as (

    select * from {{ ref('stg_exposures') }}
    where user_id is not null and (anonymous_id is not null or device_id is not null)

),

events as (

    select * from {{ ref('stg_events') }}
    where user_id is not null and (anonymous_id is not null or device_id is not null)

),

links as (

    select
        'anonymous_id' as id_type,
        anonymous_id as id_value,
        user_id,
        identified_at as linked_at
    from identities
    where anonymous_id is not null
    union all
    select
        'device_id' as id_type,
        device_id as id_value,
        user_id,
        identified_at as linked_at
    from identities
    where device_id is not null
    union all
    select
        'anonymous_id' as id_type,
        anonymous_id as id_value,
        user_id,
        exposed_at as linked_at
    from exposures
    where anonymous_id is not null
    union all
    select
        'device_id' as id_type,
        device_id as id_value,
        user_id,
        exposed_at as linked_at
    from exposures
    where device_id is not null
    union all
    select
        'anonymous_id' as id_type,
        anonymous_id as id_value,
        user_id,
        occurred_at as linked_at
    from events
    where anonymous_id is not null
    union all
    select
        'device_id' as id_type,
        device_id as id_value,
        user_id,
        occurred_at as linked_at
    from events
    where device_id is not null

)

select
    cast(id_type as {{ dbt.type_string() }}) as id_type,
    id_value,
    user_id,
    min(linked_at) as first_linked_at,
    count(*) as link_rows
from links
where user_id is not null
group by id_type, id_value, user_id
