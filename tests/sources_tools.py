"""Send a simulated World (sources_world.py) through each analytics tool's own Python client to the capture server.

Each client is used the way its documentation shows for server-side tracking; the exposure is the tool's own
experiment event (Segment's `Experiment Viewed`, Mixpanel's `$experiment_started`, Amplitude Experiment's
`$exposure`, a Snowplow structured event) and the identify call is the tool's (Segment `identify`, Mixpanel
`$identify`, Amplitude `identify` with both ids).
"""

from __future__ import annotations

import datetime as dt

from sources_world import Record, World


def _utc(at: dt.datetime) -> dt.datetime:
    return at.replace(tzinfo=dt.UTC)


def send_segment(world: World, base_url: str, module: str = "segment") -> None:
    """segment-analytics-python (or rudder-sdk-python, the same interface) → POST /v1/batch."""
    if module == "segment":
        from segment.analytics import Client
    else:
        from rudderstack.analytics import Client
    client = Client("write-key", host=base_url, sync_mode=True, max_retries=1)
    for r in world.records:
        common = {
            "user_id": r.user_id,
            "anonymous_id": r.anonymous_id,
            "timestamp": _utc(r.at),
            "message_id": r.record_id,
        }
        if r.kind == "identify":
            client.identify(traits={}, **common)
        elif r.kind == "exposure":
            client.track(
                event="Experiment Viewed",
                properties={"experiment_id": r.experiment_id, "variation_id": r.variant},
                **common,
            )
        else:
            properties = {} if r.value is None else {"value": r.value}
            client.track(event=r.event_name, properties=properties, **common)
    client.flush()


def _mixpanel_event(r: Record) -> tuple[str, str, dict]:
    props: dict = {"time": int(_utc(r.at).timestamp()), "$insert_id": r.record_id}
    if r.kind == "identify":
        return r.user_id, "$identify", {**props, "$identified_id": r.user_id, "$anon_distinct_id": r.anonymous_id}
    if r.anonymous_id:
        distinct, props["$device_id"] = f"$device:{r.anonymous_id}", r.anonymous_id
    else:
        distinct, props["$user_id"] = r.user_id, r.user_id
    if r.kind == "exposure":
        return distinct, "$experiment_started", {**props, "Experiment name": r.experiment_id, "Variant name": r.variant}
    if r.value is not None:
        props["value"] = r.value
    return distinct, r.event_name, props


def send_mixpanel(world: World, base_url: str) -> None:
    """Mixpanel (mixpanel-python) with a BufferedConsumer → POST /track (form field `data`)."""
    from mixpanel import BufferedConsumer, Mixpanel

    consumer = BufferedConsumer(max_size=50, events_url=f"{base_url}/track")
    mp = Mixpanel("project-token", consumer=consumer)
    for r in world.records:
        mp.track(*_mixpanel_event(r))
    consumer.flush()


def send_amplitude(world: World, base_url: str) -> None:
    """amplitude-analytics → POST /2/httpapi; the anonymous id is Amplitude's device_id."""
    from amplitude import Amplitude, BaseEvent, Config, EventOptions, Identify

    client = Amplitude("api-key", Config(server_url=f"{base_url}/2/httpapi", flush_queue_size=100, flush_max_retries=1))
    for r in world.records:
        millis = int(_utc(r.at).timestamp() * 1000)
        ids = {"user_id": r.user_id, "device_id": r.anonymous_id, "time": millis, "insert_id": r.record_id}
        if r.kind == "identify":
            client.identify(Identify().set("signed_up", True), EventOptions(**ids))
        elif r.kind == "exposure":
            client.track(
                BaseEvent("$exposure", event_properties={"flag_key": r.experiment_id, "variant": r.variant}, **ids)
            )
        else:
            properties = {} if r.value is None else {"value": r.value}
            client.track(BaseEvent(r.event_name, event_properties=properties, **ids))
    client.shutdown()


def send_snowplow(world: World, base_url: str) -> None:
    """snowplow-tracker → POST /com.snowplowanalytics.snowplow/tp2: structured events (the exposure is category
    `experiment`, action = experiment id, label = variant; an identify is an event carrying both ids)."""
    from snowplow_tracker import Emitter, StructuredEvent, Subject, Tracker

    host, port = base_url.removeprefix("http://").split(":")
    emitter = Emitter(host, protocol="http", port=int(port), method="post", batch_size=50)
    tracker = Tracker("exptrack-test", emitter, app_id="shop")
    for r in world.records:
        subject = Subject()
        if r.user_id:
            subject.set_user_id(r.user_id)
        if r.anonymous_id:
            subject.set_domain_user_id(r.anonymous_id)
        millis = int(_utc(r.at).timestamp() * 1000)
        if r.kind == "exposure":
            event = StructuredEvent(
                "experiment", r.experiment_id, label=r.variant, true_timestamp=millis, event_subject=subject
            )
        elif r.kind == "identify":
            event = StructuredEvent("identity", "identify", true_timestamp=millis, event_subject=subject)
        else:
            event = StructuredEvent(
                "product", r.event_name, value=r.value, true_timestamp=millis, event_subject=subject
            )
        tracker.track(event)
    tracker.flush()


def write_ga4(world: World, root) -> int:
    """GA4 has no Python client that writes its export: rows follow the BigQuery export schema
    (https://developers.google.com/analytics/bigquery/event-schema) as BigQuery's JSON export writes them (INT64 as
    text): event_date, event_timestamp (microseconds), event_name, event_params [{key, value: {string_value |
    int_value | double_value}}], user_id, user_pseudo_id, event_bundle_sequence_id. An identify is a `login` event
    carrying both ids; the exposure is the custom event `experiment_exposure`."""
    import json

    by_day: dict[str, list[str]] = {}
    for number, r in enumerate(world.records):
        params = []
        if r.kind == "exposure":
            name = "experiment_exposure"
            params = [
                {"key": "experiment_id", "value": {"string_value": r.experiment_id}},
                {"key": "variant_id", "value": {"string_value": r.variant}},
            ]
        else:
            name = "login" if r.kind == "identify" else r.event_name
            if r.value is not None:
                params = [{"key": "value", "value": {"double_value": r.value}}]
        row = {
            "event_date": r.at.strftime("%Y%m%d"),
            "event_timestamp": str(int(_utc(r.at).timestamp() * 1_000_000)),
            "event_name": name,
            "event_params": params,
            "user_id": r.user_id,
            "user_pseudo_id": r.anonymous_id,
            "event_bundle_sequence_id": str(number),
            "platform": "WEB",
        }
        by_day.setdefault(r.at.date().isoformat(), []).append(json.dumps(row) + "\n")
    for day, lines in by_day.items():
        folder = root / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "events_export.jsonl").write_text("".join(lines))
    return len(world.records)
