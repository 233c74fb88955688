{#- A unit's metric value from its cumulative numerator amount: 0/1 for proportion metrics,
    winsorised at the cap (when the metric has one) otherwise. -#}
{% macro exptrack_unit_value(amount, stat_kind, cap) -%}
    case
        when {{ stat_kind }} = 'proportion' then case when {{ amount }} > 0 then 1.0 else 0.0 end
        when {{ cap }} is not null then least({{ amount }}, {{ cap }})
        else {{ amount }}
    end
{%- endmacro %}
