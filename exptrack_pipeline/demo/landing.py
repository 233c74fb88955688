"""Write a simulated world into the landing zone: day folders, mixed formats, timestamp styles and dirt.

Layout: <raw_dir>/{exposures,events}/date=YYYY-MM-DD/part-<n>.{parquet,jsonl,csv}. A row's folder is the
UTC date of its timestamp, except duplicates re-delivered in the next day's folder.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from exptrack_pipeline.demo.world import DATA_START, DAY, EVENT_NAMES, EXPERIMENTS, N_DAYS, World, day_index

PARQUET, JSONL, CSV = 0, 1, 2
EXTENSIONS = ("parquet", "jsonl", "csv")
# text timestamp styles: (shift in seconds, suffix, date/time separator); all denote the same UTC instant
STYLES = ((0, "Z", "T"), (3600, "+01:00", "T"), (-5 * 3600, "-05:00", "T"), (0, "", " "))
STYLE_P = (0.45, 0.2, 0.1, 0.25)
DUPLICATE_SHARE = 0.003
NEXT_DAY_DUPLICATE_SHARE = 0.4
EPOCH = np.datetime64(DATA_START.isoformat() + "T00:00:00", "s")
EPOCH_US = int((DATA_START - dt.date(1970, 1, 1)).days) * DAY * 1_000_000

BAD_EXPOSURE_REASONS = ("exposure_empty_user_id", "exposure_unknown_variant", "exposure_unknown_experiment")
BAD_EVENT_REASONS = ("event_unparseable_timestamp", "event_null_event_id")
UNKNOWN_VARIANT, UNKNOWN_EXPERIMENT, BAD_TIMESTAMP = "treatment_b", "ghost_test", "not-a-time"


def _date(day: int) -> dt.date:
    return DATA_START + dt.timedelta(days=int(day))


def format_timestamps(t: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Seconds since DATA_START → ISO-8601 text in the row's style (Z, +01:00, -05:00 or zone-less UTC)."""
    out = np.empty(t.size, dtype=object)
    for code, (shift, suffix, sep) in enumerate(STYLES):
        rows = style == code
        text = np.datetime_as_string(EPOCH + (t[rows] + shift).astype("timedelta64[s]"), unit="s")
        if sep != "T":
            text = np.char.replace(text, "T", sep)
        out[rows] = np.char.add(text, suffix)
    return out


def _take(table: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[rows] for k, v in table.items()}


def _concat(*tables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([t[k] for t in tables]) for k in tables[0]}


def _text_format(main: np.ndarray) -> np.ndarray:
    """A csv/jsonl format for rows that parquet could not hold (bad rows): csv where csv was due, else jsonl."""
    return np.where(main == CSV, CSV, JSONL).astype(np.int8)


def _event_table(world: World, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = world.ev_t.size
    day = world.ev_t // DAY
    dom = np.array([_date(d).day for d in range(N_DAYS)])[day]
    r = rng.random(n)
    with_csv = np.where(r < 0.5, PARQUET, np.where(r < 0.8, JSONL, CSV))
    fmt = np.where(dom % 3 == 0, with_csv, np.where(r < 0.55, PARQUET, JSONL)).astype(np.int8)
    return {
        "event_id": np.char.add("e", (rng.permutation(n) + 10_000_000).astype(str)).astype(object),
        "user_id": world.user_id[world.ev_user].astype(object),
        "event_name": EVENT_NAMES[world.ev_name].astype(object),
        "t": world.ev_t,
        "ts_text": np.full(n, None, dtype=object),
        "value": world.ev_value,
        "session_id": world.session_id[world.ev_session].astype(object),
        "day": day,
        "fmt": fmt,
        "style": rng.choice(len(STYLES), n, p=STYLE_P).astype(np.int8),
    }


def _event_dirt(ev: dict[str, np.ndarray], rng: np.random.Generator, counts: dict) -> dict[str, np.ndarray]:
    n = ev["t"].size
    n_dup = round(DUPLICATE_SHARE * n)
    dup = _take(ev, np.sort(rng.choice(n, n_dup, replace=False)))
    later = (rng.random(n_dup) < NEXT_DAY_DUPLICATE_SHARE) & (dup["day"] < N_DAYS - 1)
    dup["day"] = dup["day"] + later
    dup["style"] = np.where(later & (dup["fmt"] == PARQUET), 0, dup["style"]).astype(np.int8)
    dup["fmt"] = np.where(later, JSONL, dup["fmt"]).astype(np.int8)
    counts["duplicate_event_rows"] = int(n_dup)
    counts["duplicate_event_rows_same_day"] = int(n_dup - later.sum())
    counts["duplicate_event_rows_next_day"] = int(later.sum())

    page_views = np.flatnonzero(ev["event_name"] == "page_view")
    bad = []
    for reason in BAD_EVENT_REASONS:
        k = int(rng.integers(2, 6))
        rows = _take(ev, rng.choice(page_views, k, replace=False))
        rows["fmt"] = _text_format(rows["fmt"])
        if reason == "event_unparseable_timestamp":
            rows["event_id"] = np.array([f"e9{i:07d}" for i in range(len(bad) * 10, len(bad) * 10 + k)], dtype=object)
            rows["ts_text"] = np.full(k, BAD_TIMESTAMP, dtype=object)
        else:
            rows["event_id"] = np.full(k, None, dtype=object)
        counts["bad_rows"][reason] = k
        bad.append(rows)
    return _concat(ev, dup, *bad)


def _exposure_table(world: World, rng: np.random.Generator, bad_rows: bool, counts: dict) -> dict[str, np.ndarray]:
    exp_ids = np.array([e.id for e in EXPERIMENTS], dtype=object)
    u = world.ex_user
    table = {
        "user_id": world.user_id[u].astype(object),
        "experiment_id": exp_ids[world.ex_exp],
        "variant": world.ex_variant.astype(object),
        "t": world.ex_t,
        "platform": world.platform[u].astype(object),
        "country": world.country[u].astype(object),
        "is_new_user": world.is_new[u],
        "style": rng.choice(len(STYLES), u.size, p=STYLE_P).astype(np.int8),
    }
    kinds = np.bincount(world.ex_kind, minlength=3)
    counts["exposure_rows_by_kind"] = {
        "first": int(kinds[0]),
        "repeat": int(kinds[1]),
        "other_variant": int(kinds[2]),
        "bad": 0,
    }
    if not bad_rows:
        return table
    bad = []
    for reason in BAD_EXPOSURE_REASONS:
        k = int(rng.integers(2, 6))
        e = rng.integers(0, len(EXPERIMENTS), k)
        users = rng.integers(0, world.user_id.size, k)
        if reason == "exposure_unknown_variant":  # users not otherwise in that experiment
            for i in range(k):
                taken = set(world.ex_user[world.ex_exp == e[i]].tolist())
                free = np.setdiff1d(np.arange(world.user_id.size), np.fromiter(taken, dtype=np.int64))
                users[i] = free[rng.integers(0, free.size)]
        lo = np.array([day_index(EXPERIMENTS[i].start) * DAY for i in e])
        hi = np.array([(day_index(EXPERIMENTS[i].exposure_end) + 1) * DAY for i in e])
        rows = {
            "user_id": world.user_id[users].astype(object),
            "experiment_id": exp_ids[e],
            "variant": np.array([EXPERIMENTS[i].control for i in e], dtype=object),
            "t": lo + np.floor(rng.random(k) * (hi - lo)).astype(np.int64),
            "platform": world.platform[users].astype(object),
            "country": world.country[users].astype(object),
            "is_new_user": world.is_new[users],
            "style": np.zeros(k, np.int8),
        }
        if reason == "exposure_empty_user_id":
            rows["user_id"] = np.full(k, "", dtype=object)
        elif reason == "exposure_unknown_variant":
            rows["variant"] = np.full(k, UNKNOWN_VARIANT, dtype=object)
        else:
            rows["experiment_id"] = np.full(k, UNKNOWN_EXPERIMENT, dtype=object)
        rows["bad"] = np.ones(k, dtype=bool)
        counts["bad_rows"][reason] = k
        counts["exposure_rows_by_kind"]["bad"] += k
        bad.append(rows)
    table["bad"] = np.zeros(u.size, dtype=bool)
    return _concat(table, *bad)


def _exposure_formats(table: dict[str, np.ndarray], rng: np.random.Generator) -> None:
    """Even days of the month parquet, odd days csv; days divisible by 5 send ~30% of rows to jsonl."""
    day = table["t"] // DAY
    dom = np.array([_date(d).day for d in range(N_DAYS)])[day]
    main = np.where(dom % 2 == 0, PARQUET, CSV)
    fmt = np.where((dom % 5 == 0) & (rng.random(day.size) < 0.3), JSONL, main)
    if "bad" in table:
        fmt = np.where(table["bad"], _text_format(main), fmt)
    table["day"], table["fmt"] = day, fmt.astype(np.int8)


def _write_groups(
    folder: Path, table: dict[str, np.ndarray], columns: dict[str, str], ts_name: str, files: dict
) -> None:
    """Write one file per (day, format); rows ordered by time. `columns` maps output name → table key."""
    order = np.lexsort((table["t"], table["fmt"], table["day"]))
    table = _take(table, order)
    text = np.flatnonzero(table["fmt"] != PARQUET)
    ts_text = np.full(table["t"].size, None, dtype=object)
    ts_text[text] = format_timestamps(table["t"][text], table["style"][text])
    if "ts_text" in table:
        override = pd.notna(table["ts_text"])
        ts_text[override] = table["ts_text"][override]
    key = table["day"].astype(np.int64) * 4 + table["fmt"]
    bounds = np.flatnonzero(np.diff(key)) + 1
    starts, ends = np.r_[0, bounds], np.r_[bounds, key.size]
    for s, e in zip(starts, ends, strict=True):
        day, fmt = divmod(int(key[s]), 4)
        path = folder / f"date={_date(day).isoformat()}" / f"part-{fmt}.{EXTENSIONS[fmt]}"
        path.parent.mkdir(parents=True, exist_ok=True)
        files[EXTENSIONS[fmt]] = files.get(EXTENSIONS[fmt], 0) + 1
        data = {}
        for out, src in columns.items():
            data[out] = table[src][s:e]
        if fmt == PARQUET:
            arrays, fields = [], []
            for out, values in data.items():
                if out == ts_name:
                    arrays.append(
                        pa.array(EPOCH_US + values.astype(np.int64) * 1_000_000, type=pa.timestamp("us", tz="UTC"))
                    )
                elif values.dtype == bool:
                    arrays.append(pa.array(values, type=pa.bool_()))
                elif values.dtype.kind == "f":
                    arrays.append(pa.array(values, type=pa.float64(), from_pandas=True))
                else:
                    arrays.append(pa.array(values, type=pa.string()))
                fields.append(out)
            pq.write_table(pa.Table.from_arrays(arrays, names=fields), path)
            continue
        data[ts_name] = ts_text[s:e]
        frame = pd.DataFrame(data)
        if fmt == CSV:
            for col in frame.columns[frame.dtypes == np.dtype(bool)]:
                frame[col] = np.where(frame[col], "true", "false")
            frame.to_csv(path, index=False, na_rep="", lineterminator="\n")
        else:
            frame.to_json(path, orient="records", lines=True, force_ascii=True)


EVENT_COLUMNS = {
    "event_id": "event_id",
    "user_id": "user_id",
    "event_name": "event_name",
    "occurred_at": "t",
    "value": "value",
    "session_id": "session_id",
}
EXPOSURE_COLUMNS = {
    "user_id": "user_id",
    "experiment_id": "experiment_id",
    "variant": "variant",
    "exposed_at": "t",
    "platform": "platform",
    "country": "country",
    "is_new_user": "is_new_user",
}


def write_landing(raw_dir: Path, world: World, rng: np.random.Generator, bad_rows: bool) -> dict:
    """Write exposures and events under raw_dir; return the row counts for the truth file."""
    counts: dict = {"bad_rows": dict.fromkeys(BAD_EXPOSURE_REASONS + BAD_EVENT_REASONS, 0), "files": {}}
    ev = _event_table(world, rng)
    per_name = np.bincount(world.ev_name, minlength=EVENT_NAMES.size)
    counts["unique_events"] = int(ev["t"].size)
    counts["events_by_name"] = {str(k): int(v) for k, v in zip(EVENT_NAMES, per_name, strict=True)}
    if bad_rows:
        ev = _event_dirt(ev, rng, counts)
    else:
        counts.update(duplicate_event_rows=0, duplicate_event_rows_same_day=0, duplicate_event_rows_next_day=0)
    counts["event_rows"] = int(ev["t"].size)
    counts["files"]["events"] = {}
    _write_groups(raw_dir / "events", ev, EVENT_COLUMNS, "occurred_at", counts["files"]["events"])

    ex = _exposure_table(world, rng, bad_rows, counts)
    _exposure_formats(ex, rng)
    counts["exposure_rows"] = int(ex["t"].size)
    counts["files"]["exposures"] = {}
    _write_groups(raw_dir / "exposures", ex, EXPOSURE_COLUMNS, "exposed_at", counts["files"]["exposures"])
    return counts
