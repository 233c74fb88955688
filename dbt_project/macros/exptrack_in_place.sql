{#- Warehouse tables read in place: the in_place_* models are rendered from the sources YAML's table mappings.

    `exptrack` passes the mapping as the dbt var `exptrack_in_place` (exptrack_pipeline/sources/in_place.py builds
    it from the sources YAML, one entry per table and contract):

        {units: [{unit: "wh:events", contract: events, table: seg.tracks, day_column: timestamp,
                  fields: {event_id: {path: [id]}, occurred_at: {epoch: ms, of: {path: [at_ms]}}, ...},
                  attributes: {platform: {path: [platform]}}}],
         epoch_seconds: [946684800, 4102444800]}

    A field is {path: [keys]}, {epoch: s | ms | us | auto, of: field}, {format: strptime, of: field},
    {value: text}, {sql: expression over j}, {first_of: [fields]}, {param: key, in: [keys]} or {null: true}.
    Each model is the union of its contract's tables: one row per table row, every mapped column as text (the
    ingestion assets check them against the contract, quarantine and count, as for files), with `source` (the load
    unit), `source_file` (warehouse:<table>), `partition_date` (the day column as a date) and `_source_record` (the
    row as JSON, kept for a quarantined row). Without the var (when dbt parses the project) the models are empty. -#}

{% macro exptrack_sql_text(text) -%}
    '{{ text | string | replace("'", "''") }}'
{%- endmacro %}


{#- The text expression of one mapped field over the record `record`. -#}
{% macro exptrack_field_text(field, record='j') -%}
    {%- if field is none or 'null' in field -%}
        cast(null as {{ dbt.type_string() }})
    {%- elif 'path' in field -%}
        {{ exptrack_json_path_text(record, field['path']) }}
    {%- elif 'value' in field -%}
        cast({{ exptrack_sql_text(field['value']) }} as {{ dbt.type_string() }})
    {%- elif 'sql' in field -%}
        cast(({{ field['sql'] }}) as {{ dbt.type_string() }})
    {%- elif 'first_of' in field -%}
        coalesce(
        {%- for part in field['first_of'] -%}
            {{ exptrack_field_text(part, record) }}{{ ', ' if not loop.last }}
        {%- endfor -%})
    {%- elif 'param' in field -%}
        {{ exptrack_json_param_text(record, field['param'], field['in']) }}
    {%- elif 'epoch' in field -%}
        {{ exptrack_epoch_text(exptrack_field_text(field['of'], record), field['epoch']) }}
    {%- elif 'format' in field -%}
        {{ exptrack_strptime_text(exptrack_field_text(field['of'], record), field['format']) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error('exptrack_in_place: unknown field form ' ~ field) }}
    {%- endif -%}
{%- endmacro %}


{#- Seconds / ms / µs since 1970 (or `auto`, by magnitude) → ISO-8601 UTC text; out of 2000..2100 an explanation
    that the contract check quarantines as `unparseable <timestamp>: epoch ... wrong epoch unit?`. -#}
{% macro exptrack_epoch_text(text, unit) -%}
    {%- set number = exptrack_text_to_double(text) | trim -%}
    {%- set low, high = var('exptrack_in_place')['epoch_seconds'] -%}
    {%- if unit == 'auto' -%}
        {%- set factor = '(case when abs(' ~ number ~ ') < 1e11 then 1000000 when abs(' ~ number ~ ') < 1e14 then 1000 else 1 end)' -%}
        {%- set name = "(case when abs(" ~ number ~ ") < 1e11 then 's' when abs(" ~ number ~ ") < 1e14 then 'ms' else 'us' end)" -%}
    {%- else -%}
        {%- set factor = {'s': 1000000, 'ms': 1000, 'us': 1}[unit] -%}
        {%- set name = exptrack_sql_text(unit) -%}
    {%- endif -%}
    {%- set micros = '(' ~ number ~ ' * ' ~ factor ~ ')' -%}
    case
        when {{ text }} is null or trim({{ text }}) = '' then null
        when {{ number }} is null then {{ text }}
        when {{ micros }} < {{ low * 1000000 }} or {{ micros }} >= {{ high * 1000000 }}
            then 'epoch ' || {{ text }} || ' in ' || {{ name }} || ' is out of range (2000..2100): wrong epoch unit?'
        else {{ exptrack_micros_to_iso(micros) }}
    end
{%- endmacro %}


{#- The relation of a table name `[database.][schema.]table`, or none when it does not exist (the ingestion asset
    then records the table as unreadable for the day, with the warehouse's error). -#}
{% macro exptrack_in_place_relation(name) -%}
    {%- set parts = name.split('.') -%}
    {%- set identifier = parts[-1] -%}
    {%- set schema = parts[-2] if parts | length > 1 else target.schema -%}
    {%- set database = parts[-3] if parts | length > 2 else target.database -%}
    {{ return(adapter.get_relation(database=database, schema=schema, identifier=identifier)) }}
{%- endmacro %}


{#- The union of the contract's tables, mapped onto `columns` (+ exposure attributes): see the top of this file. -#}
{% macro exptrack_in_place_select(contract, columns) -%}
    {%- set config = var('exptrack_in_place', {'units': []}) -%}
    {%- set units = config['units'] | selectattr('contract', 'equalto', contract) | list if execute else [] -%}
    {%- set attributes = [] -%}
    {%- for unit in units -%}
        {%- for name in unit['attributes'] if name not in attributes -%}
            {%- do attributes.append(name) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set selects = [] -%}
    {%- for unit in units if exptrack_in_place_relation(unit['table']) is not none -%}
        {%- set mapped = [
            exptrack_sql_text(unit['unit']) ~ ' as source',
            exptrack_sql_text('warehouse:' ~ unit['table']) ~ ' as source_file',
            'partition_date',
            '_source_record'] -%}
        {%- for column in columns -%}
            {%- do mapped.append(exptrack_field_text(unit['fields'].get(column)) ~ ' as ' ~ column) -%}
        {%- endfor -%}
        {%- for name in attributes -%}
            {%- do mapped.append(exptrack_field_text(unit['attributes'].get(name)) ~ ' as ' ~ adapter.quote(name)) -%}
        {%- endfor -%}
        {%- set select -%}
    select
        {{ mapped | join(',\n        ') }}
    from (
        select
            cast(t.{{ adapter.quote(unit['day_column']) }} as date) as partition_date,
            {{ exptrack_row_json_text('t') }} as _source_record,
            {{ exptrack_row_json('t') }} as j
        from {{ unit['table'] }} as t
    ) as r
        {%- endset -%}
        {%- do selects.append(select) -%}
    {%- endfor -%}
    {%- if selects -%}
        {{ selects | join('\n    union all\n') }}
    {%- else -%}
    select
        cast(null as {{ dbt.type_string() }}) as source,
        cast(null as {{ dbt.type_string() }}) as source_file,
        cast(null as date) as partition_date,
        {%- for name in ['_source_record'] + columns + attributes %}
        cast(null as {{ dbt.type_string() }}) as {{ adapter.quote(name) }}{{ ',' if not loop.last }}
        {%- endfor %}
    where false
    {%- endif -%}
{%- endmacro %}
