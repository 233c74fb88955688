-- The identity map: each (anonymous or device id, user id) pair seen, and the rule that makes it a function both
-- ways. An anonymous / device id that was linked to several users (a shared device) resolves to the user it was
-- linked to first; a user linked to several anonymous / device ids (several devices, cleared cookies) resolves to
-- the one linked first. Ties break on the smaller id. The other links are kept here and counted
-- (users_linked, ids_linked) so that dim_experiment_exposure_quality can surface them; nothing is dropped silently.
with links as (

    select * from {{ ref('int_identity_links') }}

),

ranked as (

    select
        id_type,
        id_value,
        user_id,
        first_linked_at,
        row_number() over (partition by id_type, id_value order by first_linked_at, user_id) as user_rank,
        count(*) over (partition by id_type, id_value) as users_linked,
        row_number() over (partition by id_type, user_id order by first_linked_at, id_value) as id_rank,
        count(*) over (partition by id_type, user_id) as ids_linked
    from links

)

select
    id_type,
    id_value,
    user_id,
    first_linked_at,
    user_rank = 1 as is_first_user_of_id,
    id_rank = 1 as is_first_id_of_user,
    users_linked,
    ids_linked
from ranked
