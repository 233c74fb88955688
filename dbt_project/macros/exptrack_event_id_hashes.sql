{#- int_event_id_hashes, the narrow membership table of the kept event ids (a 64-bit hash and the partition of each
    kept event), as int_events_deduplicated reads it before it is rebuilt in the same run: its relation, or none when
    it is not built yet (a first build, the first run after deploying it) or was written with another hash function
    (an engine upgrade that changed hash(): its check row no longer matches) — int_events_deduplicated then compares
    the new ids with every kept id itself, as before. Read through adapter.get_relation, not ref: the table is built
    from int_events_deduplicated, after it. -#}
{% macro exptrack_checked_event_id_hashes() %}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set hashes = adapter.get_relation(
        database=this.database, schema=this.schema, identifier='int_event_id_hashes'
    ) -%}
    {%- if hashes is none -%}{{ return(none) }}{%- endif -%}
    {%- set found = run_query(
        "select count(*) from " ~ hashes ~ " where partition_date = cast('1900-01-01' as date) and event_id_hash = "
        ~ exptrack_id_hash(exptrack_id_hash_check())
    ) -%}
    {{ return(hashes if found.rows[0][0] > 0 else none) }}
{% endmacro %}

{#- The text whose hash int_event_id_hashes keeps in its check row (partition_date 1900-01-01). -#}
{% macro exptrack_id_hash_check() %}'exptrack: the event id hash of this text'{% endmacro %}
