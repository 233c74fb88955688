{#- The engine-specific pieces of a warehouse-table source's mapping (macros/exptrack_in_place.sql renders the rest).

    Each reads or writes text, so a table read in place gives the same text on every warehouse: the record `j` of a
    row, a JSON path's text, a key/value parameter (GA4 `event_params`), text → double (null when it does not
    parse), microseconds since 1970 → ISO-8601 UTC text, and a strptime format. default__ is DuckDB. -#}

{#- The row `alias` as a JSON record that the path macros read. -#}
{% macro exptrack_row_json(alias) %}
    {{ return(adapter.dispatch('exptrack_row_json', 'exptrack')(alias)) }}
{% endmacro %}

{% macro default__exptrack_row_json(alias) %}to_json({{ alias }}){% endmacro %}

{% macro postgres__exptrack_row_json(alias) %}to_jsonb({{ alias }}){% endmacro %}


{#- The row `alias` as JSON text: the record a quarantined row keeps. -#}
{% macro exptrack_row_json_text(alias) %}
    {{ return(adapter.dispatch('exptrack_row_json_text', 'exptrack')(alias)) }}
{% endmacro %}

{% macro default__exptrack_row_json_text(alias) %}cast(to_json({{ alias }}) as varchar){% endmacro %}

{% macro postgres__exptrack_row_json_text(alias) %}cast(to_json({{ alias }}) as text){% endmacro %}


{#- The text at a path of keys (text) and list positions (numbers): a JSON string unquoted, anything else its JSON
    text, null when absent. -#}
{% macro exptrack_json_path_text(record, keys) %}
    {{ return(adapter.dispatch('exptrack_json_path_text', 'exptrack')(record, keys)) }}
{% endmacro %}

{% macro default__exptrack_json_path_text(record, keys) -%}
    {%- set path = ['$'] -%}
    {%- for key in keys -%}
        {%- if key is number -%}
            {%- do path.append('[' ~ key ~ ']') -%}
        {%- elif modules.re.match('^[A-Za-z_][A-Za-z0-9_]*$', key) -%}
            {%- do path.append('.' ~ key) -%}
        {%- else -%}
            {%- do path.append('."' ~ key | replace('"', '\\"') ~ '"') -%}
        {%- endif -%}
    {%- endfor -%}
    json_extract_string({{ record }}, {{ exptrack_sql_text(path | join('')) }})
{%- endmacro %}

{% macro postgres__exptrack_json_path_text(record, keys) -%}
    {%- set parts = [] -%}
    {%- for key in keys -%}
        {%- do parts.append('"' ~ (key | string) | replace('\\', '\\\\') | replace('"', '\\"') ~ '"') -%}
    {%- endfor -%}
    ({{ record }} #>> {{ exptrack_sql_text('{' ~ parts | join(',') ~ '}') }})
{%- endmacro %}


{#- The value of `key` in a key/value record list at `keys` (GA4: [{key, value: {string_value | int_value |
    double_value | float_value}}]). -#}
{% macro exptrack_json_param_text(record, key, keys) %}
    {{ return(adapter.dispatch('exptrack_json_param_text', 'exptrack')(record, key, keys)) }}
{% endmacro %}

{% macro default__exptrack_json_param_text(record, key, keys) -%}
    {%- set items = exptrack_json_path_text(record, keys) | replace('json_extract_string(', 'json_extract(', 1) -%}
    (select coalesce(p ->> '$.value.string_value', p ->> '$.value.int_value', p ->> '$.value.double_value', p ->> '$.value.float_value')
    from (select unnest(cast({{ items }} as json[])) as p) where p ->> '$.key' = {{ exptrack_sql_text(key) }} limit 1)
{%- endmacro %}

{% macro postgres__exptrack_json_param_text(record, key, keys) -%}
    {%- set items = exptrack_json_path_text(record, keys) | replace('#>>', '#>', 1) -%}
    (select coalesce(p #>> '{value,string_value}', p #>> '{value,int_value}', p #>> '{value,double_value}', p #>> '{value,float_value}')
    from jsonb_array_elements(case when jsonb_typeof({{ items }}) = 'array' then {{ items }} end) as e (p)
    where p ->> 'key' = {{ exptrack_sql_text(key) }} limit 1)
{%- endmacro %}


{#- Text → double precision, null when the text is not a number (never an error). -#}
{% macro exptrack_text_to_double(text) %}
    {{ return(adapter.dispatch('exptrack_text_to_double', 'exptrack')(text)) }}
{% endmacro %}

{% macro default__exptrack_text_to_double(text) %}try_cast({{ text }} as double){% endmacro %}

{#- PostgreSQL has no try-cast before 16 (pg_input_is_valid): a pattern admits the text first; a finite number goes
    through numeric (at most 3 exponent digits, so it cannot overflow numeric) and is null beyond double's range. -#}
{% macro postgres__exptrack_text_to_double(text) -%}
    (case
        when trim({{ text }}) ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]{1,3})?$'
            then case when abs(cast(trim({{ text }}) as numeric)) < 1e308 then cast(cast(trim({{ text }}) as numeric) as double precision) end
        when trim({{ text }}) ~* '^[+-]?(inf|infinity|nan)$' then cast(trim({{ text }}) as double precision)
    end)
{%- endmacro %}


{#- Microseconds since 1970 (a number) → `YYYY-MM-DDTHH:MM:SS.ffffffZ`. -#}
{% macro exptrack_micros_to_iso(micros) %}
    {{ return(adapter.dispatch('exptrack_micros_to_iso', 'exptrack')(micros)) }}
{% endmacro %}

{% macro default__exptrack_micros_to_iso(micros) -%}
    strftime(make_timestamp(cast({{ micros }} as bigint)), '%Y-%m-%dT%H:%M:%S.%fZ')
{%- endmacro %}

{% macro postgres__exptrack_micros_to_iso(micros) -%}
    to_char(timestamp '1970-01-01' + cast({{ micros }} as bigint) * interval '1 microsecond', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
{%- endmacro %}


{#- Text in a strptime format → ISO-8601 UTC text, or an explanation the contract check cannot parse. -#}
{% macro exptrack_strptime_text(text, format) %}
    {{ return(adapter.dispatch('exptrack_strptime_text', 'exptrack')(text, format)) }}
{% endmacro %}

{% macro default__exptrack_strptime_text(text, format) -%}
    case when {{ text }} is null then null
        when try_strptime({{ text }}, {{ exptrack_sql_text(format) }}) is null then {{ exptrack_sql_text('does not match format ' ~ format ~ ': ') }} || {{ text }}
        else strftime(try_strptime({{ text }}, {{ exptrack_sql_text(format) }}), '%Y-%m-%dT%H:%M:%S.%fZ')
    end
{%- endmacro %}

{% macro postgres__exptrack_strptime_text(text, format) -%}
    {{ exceptions.raise_compiler_error(
        "a field with `format: " ~ format ~ "` cannot be read on PostgreSQL (no strptime that returns null on a "
        ~ "mismatch); select the column as a timestamp in a view, or write {sql: <PostgreSQL expression over j>}"
    ) }}
{%- endmacro %}
