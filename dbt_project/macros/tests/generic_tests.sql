{#
  Local generic tests (the project installs no packages: the dbt hub is not reachable at run time).
  Each returns the failing rows, so Dagster's check metadata shows what failed.
#}

{% test value_between(model, column_name, min_value=none, max_value=none, where=none) %}
select {{ column_name }} as failing_value, *
from {{ model }}
where {{ column_name }} is not null
  and (
    {%- if min_value is not none %} {{ column_name }} < {{ min_value }} {% else %} false {% endif -%}
    or {%- if max_value is not none %} {{ column_name }} > {{ max_value }} {% else %} false {% endif -%}
  )
  {%- if where %} and ({{ where }}){% endif %}
{% endtest %}

{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{% test expression_is_true(model, expression, where=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
  {%- if where %} and ({{ where }}){% endif %}
{% endtest %}

{#- `column_name` never decreases along `order_by` within each `partition_by` group. -#}
{% test non_decreasing(model, column_name, partition_by, order_by) %}
select *
from (
    select *, lag({{ column_name }}) over (partition by {{ partition_by }} order by {{ order_by }}) as previous_value
    from {{ model }}
)
where previous_value is not null and {{ column_name }} < previous_value
{% endtest %}
