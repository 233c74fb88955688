{#- The fingerprint (row count, sum of 64-bit row hashes) of each partition of raw.<table_name> (events or exposures),
    per load source, for int_source_fingerprints (fingerprint_kind = table_name). The loader records it for every day
    it writes (raw.partition_fingerprints, its change log), so a daily run reads a few rows per day instead of hashing
    every row of every day. A partition whose rows the log does not account for — a warehouse-table source loaded
    without the loader, rows written by hand, a count that differs from the logged one, a warehouse without the log —
    is hashed here instead (fingerprint_part `hashed <source>`), so a change is found whatever wrote it. The calling
    model declares `-- depends_on:` raw.partition_fingerprints. -#}
{% macro exptrack_partition_fingerprints(table_name) %}
    {% set events = source('raw', table_name) %}
    {% set log = load_relation(source('raw', 'partition_fingerprints')) if execute else none %}
    {#- A raw schema of the user's (EXPTRACK_RAW_SCHEMA) may have no `source` column: its rows are one source. -#}
    {% set columns = exptrack_columns(events) | map(attribute='name') | map('lower') | list
        if execute else [] %}
    {% set load_source = "coalesce(events.source, '" ~ table_name ~ "')" if 'source' in columns
        else "'" ~ table_name ~ "'" %}
    {% set hashed_dates = [] %}
    {% if execute and log is not none %}
        {#- One pass over two columns (partition, source): which partitions the log does not account for. -#}
        {% set found = run_query(
            "with held as (select partition_date, coalesce(source, '" ~ table_name ~ "') as source, "
            ~ "count(*) as row_count from "
            ~ events ~ " group by partition_date, coalesce(source, '" ~ table_name ~ "')), "
            ~ "logged as (select partition_date, source, row_count from " ~ log
            ~ " where table_name = '" ~ table_name ~ "') "
            ~ "select distinct coalesce(held.partition_date, logged.partition_date) as partition_date from held "
            ~ "full outer join logged on held.partition_date = logged.partition_date and held.source = logged.source "
            ~ "where logged.source is null or coalesce(held.row_count, 0) <> logged.row_count "
            ~ "order by 1"
        ) %}
        {% for row in found.rows %}
            {% do hashed_dates.append(row[0] | string) %}
        {% endfor %}
    {% endif %}
    {% set hashed_list -%}
        ({% for day in hashed_dates %}cast('{{ day }}' as date){{ ", " if not loop.last }}{% endfor %})
    {%- endset %}
    {% set hashed_filter = "1 = 1" if log is none else ("events.partition_date in " ~ hashed_list if hashed_dates
        else "1 = 0") %}

    with hashed as (

        select
            events.partition_date,
            {{ load_source }} as load_source,
            count(*) as row_count,
            sum({{ exptrack_row_hash(events, 'events') }}) as row_hash_sum
        from {{ events }} as events
        where {{ hashed_filter }}
        group by events.partition_date, {{ load_source }}

    ),

    fingerprints as (

        select
            partition_date,
            'hashed ' || load_source as fingerprint_part,
            row_count,
            cast(row_hash_sum as {{ dbt.type_string() }}) as row_hash_sum
        from hashed
        {% if log is not none %}
            union all
            select
                logged.partition_date,
                'logged ' || logged.source as fingerprint_part,
                logged.row_count,
                logged.row_hash_sum
            from {{ log }} as logged
            where logged.table_name = '{{ table_name }}'
            {% if hashed_dates %}
                and logged.partition_date not in {{ hashed_list }}
            {% endif %}
        {% endif %}

    )

    select
        cast('{{ table_name }}' as {{ dbt.type_string() }}) as fingerprint_kind,
        cast(cast(partition_date as date) as {{ dbt.type_string() }}) as fingerprint_key,
        cast(fingerprint_part as {{ dbt.type_string() }}) as fingerprint_part,
        cast(row_count as {{ dbt.type_bigint() }}) as row_count,
        cast(row_hash_sum as {{ dbt.type_string() }}) as row_hash_sum
    from fingerprints
{% endmacro %}
