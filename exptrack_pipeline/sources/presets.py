"""How each tool's export lays out exposures, events and identities, as field mappings (see mapping.py).

Every record of a tool's export goes to exactly one contract: an exposure when it is the tool's exposure event, an
identity when it is an identify / alias / merge record, otherwise an event (a malformed line too, so it is
quarantined and counted). The formats, from each tool's own documentation:

- Segment: one JSON message per line (the Tracking API spec; `messageId`, `anonymousId`, `userId`, ISO `timestamp`);
  the A/B testing spec's `Experiment Viewed` track with `properties.experiment_id` and `properties.variation_id`;
  `identify` (userId + anonymousId) and `alias` (previousId → userId) link ids.
  https://segment.com/docs/connections/spec/common/ · https://segment.com/docs/connections/spec/ab-testing/
- RudderStack: the same message format (https://www.rudderstack.com/docs/event-spec/standard-events/), object-storage
  dumps of JSON lines, gzipped.
- Amplitude: the Export API's zip of hourly gzipped JSON-lines files (https://amplitude.com/docs/apis/analytics/export),
  `event_time` UTC text, `$insert_id` / `uuid`, `device_id` and `user_id`; Amplitude Experiment's `$exposure` event with
  `event_properties.flag_key` and `.variant` (https://amplitude.com/docs/feature-experiment/under-the-hood/event-tracking).
- Mixpanel: raw export JSON lines `{"event", "properties": {"time", "distinct_id", "$insert_id", ...}}`, `time` in
  seconds (milliseconds with `time_in_ms`) (https://docs.mixpanel.com/reference/raw-event-export); `$experiment_started`
  with `Experiment name` and `Variant name` (https://docs.mixpanel.com/docs/reports/apps/experiments); simplified ID
  merge puts `$device_id` and `$user_id` on events, `$identify` carries `$anon_distinct_id` → `$identified_id`
  (https://docs.mixpanel.com/docs/tracking-methods/id-management).
- Snowplow: enriched events, the 131-field TSV (`format: jsonl` reads the Analytics SDK's JSON shape of the same
  fields) (https://docs.snowplow.io/docs/fundamentals/canonical-event/): `event_id`, `derived_tstamp`, `user_id`,
  `domain_userid`, structured events `se_category` / `se_action` / `se_label` / `se_property` / `se_value`; an
  exposure is the structured event with category `experiment` by default.
- GA4: the BigQuery export schema (https://developers.google.com/analytics/bigquery/event-schema), exported as JSON
  lines (INT64 as text): `event_timestamp` in microseconds, `event_name`, `event_params` key/value records,
  `user_pseudo_id`, `user_id`; an exposure is a custom event (`experiment_exposure` with `experiment_id` and
  `variant_id` params by default). GA4 has no event id: the id de-duplicated on is a hash of the event's identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from exptrack_pipeline.sources.config import Source


@dataclass(frozen=True)
class Preset:
    """A tool's export format: file format, exposure and identity routes, and field specs."""

    format: str
    exposure_event: str | None
    exposure_route: str  # the field holding the event name the exposure route tests
    identity_route: dict[str, Any] | None
    exposures: dict[str, Any]
    events: dict[str, Any]
    identities: dict[str, Any] = field(default_factory=dict)
    epoch: str | None = None  # the default unit of the timestamp fields marked {"epoch": True}
    tables: dict[str, str] = field(default_factory=dict)  # warehouse presets: contract → table (in warehouse_schema)
    day_column: str | None = None


_SEGMENT_IDS = {"user_id": "userId", "anonymous_id": "anonymousId"}
_SEGMENT = Preset(
    format="jsonl",
    exposure_event="Experiment Viewed",
    exposure_route="event",
    identity_route={"field": "type", "in": ["identify", "alias"]},
    exposures={
        **_SEGMENT_IDS,
        "experiment_id": "properties.experiment_id",
        "variant": "properties.variation_id",
        "exposed_at": "timestamp",
    },
    events={
        **_SEGMENT_IDS,
        "event_id": "messageId",
        "event_name": {"first_of": ["event", "name", "type"]},
        "occurred_at": "timestamp",
        "value": {"first_of": ["properties.value", "properties.revenue"]},
        "session_id": {"first_of": ["context.sessionId", "properties.session_id"]},
    },
    identities={
        "user_id": "userId",
        "anonymous_id": {
            "sql": "case when j->>'$.type' = 'alias' then j->>'$.previousId' else j->>'$.anonymousId' end"
        },
        "identified_at": "timestamp",
    },
)

_SEGMENT_WAREHOUSE_IDS = {"user_id": "user_id", "anonymous_id": "anonymous_id"}
_SEGMENT_WAREHOUSE = Preset(
    format="table",
    exposure_event=None,
    exposure_route="",
    identity_route=None,
    exposures={
        **_SEGMENT_WAREHOUSE_IDS,
        "experiment_id": "experiment_id",
        "variant": "variation_id",
        "exposed_at": "timestamp",
    },
    events={**_SEGMENT_WAREHOUSE_IDS, "event_id": "id", "event_name": "event", "occurred_at": "timestamp"},
    identities={**_SEGMENT_WAREHOUSE_IDS, "identified_at": "timestamp"},
    tables={"exposures": "experiment_viewed", "events": "tracks", "identities": "identifies"},
    day_column="timestamp",
)
"""Segment's warehouse sync (https://segment.com/docs/connections/storage/warehouses/schema/): `tracks` (one row per
track call: id, anonymous_id, user_id, event, timestamp), one table per event with its properties as columns
(`experiment_viewed`: experiment_id, variation_id) and `identifies` (anonymous_id, user_id, timestamp)."""

_MIXPANEL_USER = {
    "sql": """coalesce(j->>'$.properties."$user_id"', """
    """case when j->>'$.properties."$device_id"' is null then j->>'$.properties.distinct_id' end)"""
}
_MIXPANEL_IDS = {"user_id": _MIXPANEL_USER, "anonymous_id": 'properties["$device_id"]'}
_MIXPANEL_TIME = {"field": "properties.time", "epoch": True}
_MIXPANEL = Preset(
    format="jsonl",
    exposure_event="$experiment_started",
    exposure_route="event",
    identity_route={"field": "event", "in": ["$identify", "$merge", "$create_alias"]},
    exposures={
        **_MIXPANEL_IDS,
        "experiment_id": 'properties["Experiment name"]',
        "variant": 'properties["Variant name"]',
        "exposed_at": _MIXPANEL_TIME,
    },
    events={
        **_MIXPANEL_IDS,
        "event_id": 'properties["$insert_id"]',
        "event_name": "event",
        "occurred_at": _MIXPANEL_TIME,
        "value": "properties.value",
        "session_id": 'properties["$session_id"]',
    },
    identities={
        "user_id": {"first_of": ['properties["$identified_id"]', "properties.alias", 'properties["$distinct_ids"][0]']},
        "anonymous_id": {"first_of": ['properties["$anon_distinct_id"]', "properties.distinct_id"]},
        "identified_at": _MIXPANEL_TIME,
    },
    epoch="auto",
)

_AMPLITUDE_IDS = {"user_id": "user_id", "device_id": "device_id"}
_AMPLITUDE = Preset(
    format="amplitude_zip",
    exposure_event="$exposure",
    exposure_route="event_type",
    identity_route=None,  # every Amplitude event carries device_id and user_id once known
    exposures={
        **_AMPLITUDE_IDS,
        "experiment_id": "event_properties.flag_key",
        "variant": "event_properties.variant",
        "exposed_at": "event_time",
    },
    events={
        **_AMPLITUDE_IDS,
        "event_id": {"first_of": ['["$insert_id"]', "insert_id", "uuid"]},
        "event_name": "event_type",
        "occurred_at": "event_time",
        "value": {"first_of": ["event_properties.value", "revenue"]},
        "session_id": "session_id",
    },
)

_SNOWPLOW_IDS = {"user_id": "user_id", "anonymous_id": "domain_userid"}
_SNOWPLOW_NAME = {"sql": "coalesce(j->>'$.se_action', j->>'$.event_name', j->>'$.event')"}
_SNOWPLOW = Preset(
    format="snowplow_tsv",
    exposure_event="experiment",
    exposure_route="se_category",
    identity_route=None,  # enriched events carry domain_userid and user_id once set
    exposures={
        **_SNOWPLOW_IDS,
        "experiment_id": "se_action",
        "variant": "se_label",
        "exposed_at": {"first_of": ["derived_tstamp", "collector_tstamp"]},
    },
    events={
        **_SNOWPLOW_IDS,
        "event_id": "event_id",
        "event_name": _SNOWPLOW_NAME,
        "occurred_at": {"first_of": ["derived_tstamp", "collector_tstamp"]},
        "value": "se_value",
        "session_id": "domain_sessionid",
    },
)

_GA4_IDS = {"user_id": "user_id", "anonymous_id": "user_pseudo_id"}
_GA4_TIME = {"field": "event_timestamp", "epoch": True}
_GA4_ID = {
    "sql": "md5(concat_ws('|', j->>'$.user_pseudo_id', j->>'$.event_timestamp', j->>'$.event_name', "
    "j->>'$.event_bundle_sequence_id', j->>'$.batch_event_index'))"
}
_GA4 = Preset(
    format="jsonl",
    exposure_event="experiment_exposure",
    exposure_route="event_name",
    identity_route=None,  # events carry user_pseudo_id and user_id once set
    exposures={
        **_GA4_IDS,
        "experiment_id": {"param": "experiment_id"},
        "variant": {"param": "variant_id"},
        "exposed_at": _GA4_TIME,
    },
    events={
        **_GA4_IDS,
        "event_id": {"first_of": [{"param": "event_id"}, _GA4_ID]},
        "event_name": "event_name",
        "occurred_at": _GA4_TIME,
        "value": {"first_of": [{"param": "value"}, "event_value_in_usd"]},
        "session_id": {"param": "ga_session_id"},
    },
    epoch="us",
)

PRESETS: dict[str, Preset] = {
    "segment": _SEGMENT,
    "segment_warehouse": _SEGMENT_WAREHOUSE,
    "rudderstack": _SEGMENT,
    "mixpanel": _MIXPANEL,
    "amplitude": _AMPLITUDE,
    "snowplow": _SNOWPLOW,
    "ga4": _GA4,
}


def _with_epoch(spec: Any, unit: str) -> Any:
    if isinstance(spec, dict) and spec.get("epoch") is True:
        return {**spec, "epoch": unit}
    return spec


@dataclass(frozen=True)
class Resolved:
    """A source's complete mapping: format, routes and the field specs of each contract it feeds."""

    format: str
    routes: dict[str, dict[str, Any]]
    fields: dict[str, dict[str, Any]]
    attributes: dict[str, Any]
    tables: dict[str, str]
    day_column: str | None


def resolve(source: Source) -> Resolved:
    """The preset's mapping with the source's overrides applied (a custom source is its own mapping)."""
    preset = PRESETS.get(source.preset)
    routes: dict[str, dict[str, Any]] = {}
    fields: dict[str, dict[str, Any]] = {"exposures": {}, "events": {}, "identities": {}}
    if preset is not None and preset.format != "table":
        exposure_event = source.exposure_event or preset.exposure_event
        routes["exposures"] = {"field": preset.exposure_route, "equals": exposure_event}
        if preset.identity_route:
            routes["identities"] = preset.identity_route
    if preset is not None:
        unit = source.epoch or preset.epoch or "auto"
        for contract in fields:
            fields[contract] = {k: _with_epoch(v, unit) for k, v in getattr(preset, contract).items()}
    routes.update({contract: route.as_dict() for contract, route in source.routes.items()})
    for contract in fields:
        fields[contract].update(getattr(source, contract))
    fmt = source.format or (preset.format if preset else "jsonl")
    schema = f"{source.warehouse_schema}." if source.warehouse_schema else ""
    tables = {c: schema + t for c, t in (preset.tables if preset else {}).items()}
    tables.update(source.tables)
    return Resolved(
        format=fmt,
        routes=routes,
        fields=fields,
        attributes=dict(source.attributes),
        tables=tables,
        day_column=source.day_column or (preset.day_column if preset else None),
    )
