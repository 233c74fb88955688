{#- Model contracts on Spark. The schema files spell column types as DuckDB and PostgreSQL do (`double precision`,
    `text`, `varchar`), which Spark SQL does not parse; the contract check builds an empty query that casts null to
    each declared type (get_empty_schema_sql) and compares its column types with the model's. On Spark the declared
    types are translated first, so the same contracts hold on every warehouse. -#}
{% macro spark__get_empty_schema_sql(columns) %}
    {%- set spark_types = {'double precision': 'double', 'text': 'string', 'varchar': 'string'} -%}
    {%- set translated = {} -%}
    {%- for name in columns -%}
        {%- set column = columns[name].copy() -%}
        {%- set declared = column.get('data_type') -%}
        {%- if declared -%}
            {%- do column.update({'data_type': spark_types.get(declared.strip().lower(), declared)}) -%}
        {%- endif -%}
        {%- do translated.update({name: column}) -%}
    {%- endfor -%}
    {{ return(default__get_empty_schema_sql(translated)) }}
{% endmacro %}
