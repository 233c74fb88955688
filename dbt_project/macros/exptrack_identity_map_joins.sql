{#
    The four probes of the identity map (a CTE named identity_map from int_identity_map) for rows of `rows`:
    anonymous_user / device_user give the user an anonymous / device id resolves to (its first-linked user);
    user_anonymous / user_device give the anonymous / device id a user resolves to (the first linked to the user).
#}
{% macro exptrack_identity_map_joins(rows) %}
{% set probes = [
    ('anonymous_user', 'anonymous_id', 'anonymous_id', 'id_value', 'is_first_user_of_id'),
    ('device_user', 'device_id', 'device_id', 'id_value', 'is_first_user_of_id'),
    ('user_anonymous', 'anonymous_id', 'user_id', 'user_id', 'is_first_id_of_user'),
    ('user_device', 'device_id', 'user_id', 'user_id', 'is_first_id_of_user'),
] %}
{% for alias, id_type, row_column, map_column, rule in probes %}
left join identity_map as {{ alias }}
    on {{ alias }}.id_type = '{{ id_type }}'
    and {{ rows }}.{{ row_column }} = {{ alias }}.{{ map_column }}
    and {{ alias }}.{{ rule }}
{% endfor %}
{% endmacro %}
