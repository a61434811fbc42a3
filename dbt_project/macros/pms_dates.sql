{#
  PMS dates are ISO `YYYY-MM-DD`, partial `YYYY-MM` / `YYYY`, or (one legacy site) `YYYYMMDD`.
  These macros turn a text column into: the exact date (day precision only), the precision, a legacy flag, and the
  earliest / latest date the partial value allows. Imputation is left to the intermediate layer.
#}
{% macro pms_date_text(col) -%}
    case when regexp_full_match(trim({{ col }}), '\d{8}')
         then substr(trim({{ col }}), 1, 4) || '-' || substr(trim({{ col }}), 5, 2) || '-' || substr(trim({{ col }}), 7, 2)
         else trim({{ col }}) end
{%- endmacro %}

{% macro pms_date_precision(col) -%}
    case when regexp_full_match({{ pms_date_text(col) }}, '\d{4}-\d{2}-\d{2}') and try_cast({{ pms_date_text(col) }} as date) is not null then 'day'
         when regexp_full_match({{ pms_date_text(col) }}, '\d{4}-\d{2}') and try_cast({{ pms_date_text(col) }} || '-01' as date) is not null then 'month'
         when regexp_full_match({{ pms_date_text(col) }}, '\d{4}') then 'year'
    end
{%- endmacro %}

{% macro pms_date(col) -%}
    try_cast(case when regexp_full_match({{ pms_date_text(col) }}, '\d{4}-\d{2}-\d{2}') then {{ pms_date_text(col) }} end as date)
{%- endmacro %}

{% macro pms_date_earliest(col) -%}
    case {{ pms_date_precision(col) }}
        when 'day' then try_cast({{ pms_date_text(col) }} as date)
        when 'month' then try_cast({{ pms_date_text(col) }} || '-01' as date)
        when 'year' then try_cast({{ pms_date_text(col) }} || '-01-01' as date)
    end
{%- endmacro %}

{% macro pms_date_latest(col) -%}
    case {{ pms_date_precision(col) }}
        when 'day' then try_cast({{ pms_date_text(col) }} as date)
        when 'month' then last_day(try_cast({{ pms_date_text(col) }} || '-01' as date))
        when 'year' then try_cast({{ pms_date_text(col) }} || '-12-31' as date)
    end
{%- endmacro %}

{% macro pms_date_legacy(col) -%}
    coalesce(regexp_full_match(trim({{ col }}), '\d{8}'), false)
{%- endmacro %}

{#- Standard set of parsed columns for one PMS date column. -#}
{% macro pms_date_columns(col, name, partial=false) -%}
    {{ pms_date(col) }} as {{ name }}_date,
    {%- if partial %}
    {{ pms_date_earliest(col) }} as {{ name }}_date_earliest,
    {{ pms_date_latest(col) }} as {{ name }}_date_latest,
    {{ pms_date_precision(col) }} as {{ name }}_date_precision,
    {%- endif %}
    {{ pms_date_legacy(col) }} as {{ name }}_date_legacy,
    nullif(trim({{ col }}), '') as {{ name }}_date_text
{%- endmacro %}
