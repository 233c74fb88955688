{#- Incremental models on Spark (issues 16/18): the refresh scope replaced without DELETE.

    Parquet tables on Spark take no DELETE, UPDATE or MERGE. A model's refresh scope (macros/exptrack_refresh_scope.sql)
    is replaced as on DuckDB: its rows are removed before the model's SELECT runs (the model may read {{ this }} and
    expect them gone, e.g. int_events_deduplicated's earlier first copies), then dbt's `append` inserts the new rows.
    spark__exptrack_delete_where removes them with what Spark has, from the table's partitioning and the model's
    `file_format`, for any model and any scope:

    * partitions whose every row is in the scope (an event-partition scope: the partitions from the earliest changed
      day on; a full rebuild): dropped (`alter table ... drop partition`; on Delta a `delete` by partition value);
    * partitions that hold rows of the scope and other rows (a metric, an experiment, a unit whose assignment
      changed): rewritten with their other rows by a dynamic partition overwrite (`insert overwrite ... partition`);
    * an unpartitioned table, or an external parquet table (location_root, whose dropped partitions keep their
      files): its other rows are staged in a table and written back over the whole table (unpartitioned) or over
      each partition holding rows of the scope, named in the statement; a managed table wholly in scope: truncated.

    A day's run whose scope is the new partition touches nothing here (the partition is not in the table yet).
    Which rows are in the scope is decided by the same SQL condition as the DELETE on DuckDB and PostgreSQL, so the
    table the model then reads, and the table after the append, are the same on every engine. -#}

{% macro spark__exptrack_incremental_strategy() %}{{ return('append') }}{% endmacro %}

{#- True: the scope is removed before the insert (emulated, below), so `append` is exact. -#}
{% macro spark__exptrack_deletes_refresh_scope() %}{{ return(true) }}{% endmacro %}

{% macro spark__exptrack_delete_where(relation, alias, condition) -%}
    {%- if execute -%}
        {%- set layout = exptrack_spark_table_layout(relation) -%}
        {%- set columns = layout['partition_columns'] -%}
        {%- set file_format = config.get('file_format') or 'parquet' -%}
        {%- if layout['external'] and file_format != 'delta' -%}
            {#- An external parquet table (location_root) keeps a dropped partition's files, which the next insert
                into that partition would bring back: its partitions are overwritten instead. -#}
            {%- do exptrack_spark_rewrite(relation, alias, condition, columns, file_format) -%}
        {%- elif columns | length > 0 -%}
            {%- do exptrack_spark_replace_partitions(relation, alias, condition, columns, file_format) -%}
        {%- else -%}
            {%- do exptrack_spark_rewrite(relation, alias, condition, columns, file_format) -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- The table as Spark has it (`describe table extended`), not as the model's config says (a table built before
    `partition_by` was configured stays unpartitioned until a full refresh): its partition columns, and whether it is
    external (location_root: dropping a partition leaves its files). -#}
{% macro exptrack_spark_table_layout(relation) %}
    {%- set columns, section, external = [], ['columns'], [] -%}
    {%- for row in run_query("describe table extended " ~ relation).rows -%}
        {%- set name = row[0] or '' -%}
        {%- if name.startswith('#') and name != '# col_name' -%}{%- do section.append(name) -%}
        {%- elif name and section[-1] == '# Partition Information' and name != '# col_name' -%}
            {%- do columns.append(name) -%}
        {%- elif name == 'Type' and section[-1] == '# Detailed Table Information' -%}
            {%- do external.append((row[1] or '') | upper == 'EXTERNAL') -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return({'partition_columns': columns, 'external': external | first | default(false)}) }}
{% endmacro %}

{#- A Spark SQL literal of a value read back by run_query (a partition value). -#}
{% macro exptrack_spark_literal(value) -%}
    {%- if value is none -%}null
    {%- elif value is number -%}{{ value }}
    {%- else -%}'{{ (value | string).replace("\\", "\\\\").replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}

{#- `(c1 = v1 and c2 = v2) or (...)` over the partitions (rows of run_query: the partition values first). -#}
{% macro exptrack_spark_partitions_predicate(columns, partitions, alias=none) -%}
    {%- set prefix = alias ~ '.' if alias else '' -%}
    {%- for row in partitions -%}
        ({% for column in columns %}{{ prefix }}{{ column }} = {{ exptrack_spark_literal(row[loop.index0]) }}{{ " and " if not loop.last }}{% endfor %}){{ " or " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{% macro exptrack_spark_replace_partitions(relation, alias, condition, columns, file_format) %}
    {%- set column_list = columns | join(', ') -%}
    {%- set scoped = run_query(
        "select " ~ column_list ~ ", count(*) as scoped_rows from " ~ relation ~ " as " ~ alias
        ~ " where " ~ condition ~ " group by " ~ column_list
    ) -%}
    {%- if scoped.rows | length == 0 -%}{{ return('') }}{%- endif -%}
    {%- set totals = run_query(
        "select " ~ column_list ~ ", count(*) as total_rows from " ~ relation
        ~ " where " ~ exptrack_spark_partitions_predicate(columns, scoped.rows) ~ " group by " ~ column_list
    ) -%}
    {%- set total_of = {} -%}
    {%- for row in totals.rows -%}
        {%- do total_of.update({row[:columns | length] | join('|'): row[columns | length]}) -%}
    {%- endfor -%}
    {%- set whole, partial = [], [] -%}
    {%- for row in scoped.rows -%}
        {%- set key = row[:columns | length] | join('|') -%}
        {%- if row[columns | length] == total_of.get(key) -%}{%- do whole.append(row) -%}
        {%- else -%}{%- do partial.append(row) -%}{%- endif -%}
    {%- endfor -%}
    {%- if partial | length > 0 -%}
        {#- Reads the partitions and overwrites them in one job: Spark writes to a staging directory and swaps the
            partitions in at commit, so the read sees the old files. The mode is a setting of the session, which
            dbt's threads share: nothing in this project sets it back to static (dbt-spark sets dynamic too). -#}
        {%- do run_query("set spark.sql.sources.partitionOverwriteMode = dynamic") -%}
        {%- do run_query(
            "insert overwrite table " ~ relation ~ " partition (" ~ column_list ~ ") select * from " ~ relation
            ~ " as " ~ alias ~ " where (" ~ exptrack_spark_partitions_predicate(columns, partial, alias)
            ~ ") and not coalesce(" ~ condition ~ ", false)"
        ) -%}
    {%- endif -%}
    {%- if whole | length > 0 -%}
        {%- do exptrack_spark_drop_partitions(relation, columns, whole, file_format) -%}
    {%- endif -%}
    {{ log("exptrack: " ~ relation ~ ": refresh scope removed (" ~ whole | length ~ " partitions dropped, "
        ~ partial | length ~ " rewritten)", info=false) }}
{% endmacro %}

{% macro exptrack_spark_drop_partitions(relation, columns, partitions, file_format) %}
    {%- if file_format == 'delta' -%}
        {#- Delta tables take no `drop partition`; a delete by partition values is a metadata operation there. -#}
        {%- do run_query(
            "delete from " ~ relation ~ " where " ~ exptrack_spark_partitions_predicate(columns, partitions)
        ) -%}
    {%- else -%}
        {%- set specs = [] -%}
        {%- for row in partitions -%}
            {%- if none in row[:columns | length] -%}
                {{ exceptions.raise_compiler_error(
                    "exptrack: " ~ relation ~ " has a partition with a null " ~ columns | join('/')
                    ~ ", which Spark cannot drop: give the model a non-null partition column (partition_by)"
                ) }}
            {%- endif -%}
            {%- set spec -%}
                partition ({% for column in columns %}{{ column }} = {{ exptrack_spark_literal(row[loop.index0]) }}{{ ", " if not loop.last }}{% endfor %})
            {%- endset -%}
            {%- do specs.append(spec) -%}
        {%- endfor -%}
        {%- do run_query("alter table " ~ relation ~ " drop if exists " ~ specs | join(', ')) -%}
    {%- endif -%}
{% endmacro %}

{#- An unpartitioned or external table: its rows outside the scope are staged in a table, then written back over
    the table (unpartitioned) or over each partition holding rows of the scope, named in the statement (a static
    overwrite of that partition, whatever the session's overwrite mode; an external partition's old files go).
    A managed unpartitioned table whose every row is in the scope is truncated. Correct for any model; a model with
    a date column should be partitioned by it (dbt_project.yml, the spark target): this rewrites more. -#}
{% macro exptrack_spark_rewrite(relation, alias, condition, partition_columns, file_format) %}
    {%- set by = partition_columns | join(', ') -%}
    {%- set scoped = run_query(
        "select " ~ (by ~ ", " if by else "") ~ "count(*) from " ~ relation ~ " as " ~ alias ~ " where " ~ condition
        ~ (" group by " ~ by if by else "")
    ).rows -%}
    {%- if scoped | length == 0 or scoped[0][-1] == 0 -%}{{ return('') }}{%- endif -%}
    {%- if not by and scoped[0][0] == run_query("select count(*) from " ~ relation).rows[0][0] -%}
        {%- if not exptrack_spark_table_layout(relation)['external'] -%}
            {%- do run_query(("delete from " if file_format == 'delta' else "truncate table ") ~ relation) -%}
            {{ return('') }}
        {%- endif -%}
    {%- endif -%}
    {%- set kept = api.Relation.create(
        database=relation.database, schema=relation.schema, identifier=relation.identifier ~ '__exptrack_kept',
        type='table'
    ) -%}
    {%- do run_query("drop table if exists " ~ kept) -%}
    {%- do run_query(
        "create table " ~ kept ~ " using parquet as select * from " ~ relation ~ " as " ~ alias
        ~ " where " ~ ("(" ~ exptrack_spark_partitions_predicate(partition_columns, scoped, alias) ~ ") and " if by else "")
        ~ "not coalesce(" ~ condition ~ ", false)"
    ) -%}
    {%- if by -%}
        {%- set data_columns = [] -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- if column.name not in partition_columns -%}{%- do data_columns.append(column.name) -%}{%- endif -%}
        {%- endfor -%}
        {%- for row in scoped -%}
            {%- set spec = [] -%}
            {%- for column in partition_columns -%}
                {%- do spec.append(column ~ " = " ~ exptrack_spark_literal(row[loop.index0])) -%}
            {%- endfor -%}
            {%- do run_query(
                "insert overwrite table " ~ relation ~ " partition (" ~ spec | join(', ') ~ ") select "
                ~ data_columns | join(', ') ~ " from " ~ kept ~ " where " ~ spec | join(' and ')
            ) -%}
        {%- endfor -%}
    {%- else -%}
        {%- do run_query("insert overwrite table " ~ relation ~ " select * from " ~ kept) -%}
    {%- endif -%}
    {%- do run_query("drop table " ~ kept) -%}
{% endmacro %}
