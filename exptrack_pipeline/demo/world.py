"""The simulated world behind the demo data: users, sessions, events, exposures (vectorised numpy).

Time is int64 seconds since DATA_START (2026-10-18 00:00 UTC). Every true effect is a multiplier on a
per-user (or per-impression) probability that applies only after the user's first exposure, so the
population-level relative lift equals the designed number whatever the segment or timing:

* signup_social_proof: P(signup_completed in the exposure session) = 0.102·w_u, × 0.125/0.102 in social_proof.
* homepage_cards: P(click | impression) = 0.05·m_u, × 1.15 in grid for impressions after exposure
  (m_u has mean 1 and is independent of how many impressions a user sees, so control CTR is 5%).
* checkout_redesign: app_error candidates come from sessions; a per-user gate decides whether they are
  logged. Before the checkout exposure the gate is open with probability 0.5; after it, control keeps the
  same gate and one_page opens a closed gate with probability 0.6 (0.5 + 0.5·0.6 = 1.6·0.5), so
  P(≥1 app_error in any post-exposure interval) is exactly 1.6× control.
Nothing else depends on the variant.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from exptrack_pipeline.demo.assignment import FlagAssigner

DAY = 86_400
DATA_START = dt.date(2026, 10, 18)
DATA_END = dt.date(2026, 11, 24)  # inclusive
N_DAYS = (DATA_END - DATA_START).days + 1
END_SEC = N_DAYS * DAY

PLATFORMS = np.array(["ios", "android", "web"])
PLATFORM_P = [0.38, 0.34, 0.28]
COUNTRIES = np.array(["US", "DE", "IN", "BR", "GB"])
COUNTRY_P = [0.34, 0.16, 0.24, 0.14, 0.12]
COUNTRY_UTC_OFFSET_H = np.array([-5.0, 1.0, 5.5, -3.0, 0.0])
COUNTRY_SPEND = np.array([1.2, 1.1, 0.5, 0.7, 1.1])

EVENT_NAMES = np.array(
    [
        "session_start",
        "session_end",
        "page_view",
        "card_impression",
        "card_click",
        "saved_search_created",
        "checkout_started",
        "purchase",
        "app_error",
        "signup_completed",
    ]
)
EV = {name: i for i, name in enumerate(EVENT_NAMES)}


@dataclass(frozen=True)
class ExperimentDesign:
    """One demo experiment's design: dates, variants, weights and control."""

    id: str
    start: dt.date
    end: dt.date
    variants: tuple[str, ...]
    weights: tuple[float, ...]
    control: str

    @property
    def exposure_end(self) -> dt.date:
        """The last day with exposures: the end date, or the end of the data."""
        return min(self.end, DATA_END)


SIGNUP = ExperimentDesign(
    "signup_social_proof",
    dt.date(2026, 11, 1),
    dt.date(2026, 11, 14),
    ("control", "social_proof"),
    (0.5, 0.5),
    "control",
)
HOMEPAGE = ExperimentDesign(
    "homepage_cards",
    dt.date(2026, 11, 1),
    dt.date(2026, 11, 21),
    ("control", "compact", "carousel", "grid"),
    (0.25, 0.25, 0.25, 0.25),
    "control",
)
CHECKOUT = ExperimentDesign(
    "checkout_redesign", dt.date(2026, 11, 8), dt.date(2026, 11, 28), ("control", "one_page"), (0.5, 0.5), "control"
)
EXPERIMENTS = (SIGNUP, HOMEPAGE, CHECKOUT)

# --- designed truth -------------------------------------------------------------------------------
SIGNUP_RATE = {"control": 0.102, "social_proof": 0.125}
CTR = {"control": 0.05, "compact": 0.05, "carousel": 0.05, "grid": 0.05 * 1.15}
ERROR_GATE = 0.5  # P(app_error candidates are logged) before exposure and in checkout control
ERROR_HARM = 0.6  # one_page: P(gate open) = ERROR_GATE * (1 + ERROR_HARM)
LOGGING_LOSS = {"checkout_redesign": {"one_page": 0.10}}  # share of a variant's users never logged
MULTI_VARIANT_SHARE = 0.005
REPEAT_EXPOSURE_SHARE = 0.30

# --- world sizes and behaviour (scale multiplies user counts) -------------------------------------
N_RETURNING = 26_000
N_NEW = 18_500  # every new visitor lands on the signup page: all are in signup_social_proof
HOMEPAGE_TAKE = {False: 0.9, True: 0.6}  # P(in homepage_cards | visited during it), returning / new
Q_RETURNING = 0.13  # mean daily activity of a returning user
NEW_RETENTION_D1 = 0.32  # P(active on day k after arrival) = 0.32 * k^-0.55 * user multiplier
EXTRA_SESSIONS = 0.4  # sessions per active day = 1 + Poisson(0.4)
PAGE_VIEWS = 0.6  # Poisson per session
IMPRESSIONS = 2.0  # card_impression per session
CHECKOUT_START = 0.32  # P(checkout_started in a session), per-user multiplier
PURCHASE_AFTER_CHECKOUT = 0.3
SAVED_SEARCH = 0.025
ERRORS_PER_SESSION = 0.09
PLATFORM_ACTIVITY = np.array([1.1, 1.0, 0.85])
PLATFORM_ERRORS = np.array([0.8, 1.35, 0.9])
PLATFORM_SIGNUP = np.array([1.05, 0.85, 1.15])


def day_index(day: dt.date) -> int:
    """Days since the start of the demo data."""
    return (day - DATA_START).days


def _lognorm_mean1(sigma: float, z: np.ndarray) -> np.ndarray:
    """exp(sigma·z − sigma²/2): a multiplier with mean exactly 1 for standard normal z."""
    return np.exp(sigma * z - sigma * sigma / 2)


def _page_load_ms(rng: np.random.Generator, users: np.ndarray, platform: np.ndarray) -> np.ndarray:
    """Page load time (ms) of each page view: 900 ms median × platform × a per-user device factor × noise.

    Drawn from its own generator, so the rest of the world is the same as without it. No variant effect.
    """
    device = np.exp(0.35 * rng.standard_normal(platform.size))
    speed = np.array([1.0, 1.25, 0.85])[platform]
    return np.round(900.0 * speed[users] * device[users] * np.exp(0.5 * rng.standard_normal(users.size)))


def _first_per_user(users: np.ndarray, candidates: np.ndarray, n_users: int) -> np.ndarray:
    """For rows sorted by user then time: index of each user's first candidate row, −1 when none."""
    idx = np.flatnonzero(candidates)
    first = np.full(n_users, -1, dtype=np.int64)
    u, pos = np.unique(users[idx], return_index=True)
    first[u] = idx[pos]
    return first


@dataclass
class Arm:
    """One experiment's assignment: users (index), variant code, first exposure time, logged flag."""

    design: ExperimentDesign
    users: np.ndarray
    variant: np.ndarray
    t_first: np.ndarray
    logged: np.ndarray


@dataclass
class World:
    """The simulated users and their exposures and events, as arrays."""

    n_returning: int
    n_new: int
    user_id: np.ndarray  # str
    platform: np.ndarray  # str
    country: np.ndarray  # str
    is_new: np.ndarray  # bool
    session_id: np.ndarray  # str, per session
    # events (sorted by time): time, user index, event code, value (NaN = none), session index
    ev_t: np.ndarray
    ev_user: np.ndarray
    ev_name: np.ndarray
    ev_value: np.ndarray
    ev_session: np.ndarray
    # exposure rows: user index, experiment index, variant name, time, kind (0 first, 1 repeat, 2 other variant)
    ex_user: np.ndarray
    ex_exp: np.ndarray
    ex_variant: np.ndarray
    ex_t: np.ndarray
    ex_kind: np.ndarray
    arms: list[Arm]
    multi_variant_users: dict[str, int]
    repeat_users: dict[str, int]


def simulate(rng: np.random.Generator, scale: float) -> World:
    """The world; its exposure rows are logged by exptrack's OpenFeature hook as the SDK serves the flags
    (demo/assignment.py)."""
    with FlagAssigner(list(EXPERIMENTS)) as flags:
        return _simulate(rng, scale, flags)


def _simulate(rng: np.random.Generator, scale: float, flags: FlagAssigner) -> World:
    n_ret = max(8, round(N_RETURNING * scale))
    n_new = max(8, round(N_NEW * scale))
    n = n_ret + n_new
    is_new = np.arange(n) >= n_ret
    # user ids first (from a child generator: the world's own stream is untouched), because assignment evaluates the
    # flags
    user_id = np.char.add("u", (rng.spawn(1)[0].permutation(n) + 1_000_000).astype(str))
    platform = rng.choice(3, n, p=PLATFORM_P)
    country = rng.choice(5, n, p=COUNTRY_P)
    z = rng.standard_normal(n)  # engagement propensity: drives pre- and post-exposure behaviour
    click_affinity = _lognorm_mean1(0.35, rng.standard_normal(n))  # independent of activity
    first_signup_day = day_index(SIGNUP.start)
    n_signup_days = (SIGNUP.end - SIGNUP.start).days + 1
    arrival = np.where(is_new, first_signup_day + rng.integers(0, n_signup_days, n), 0)

    # ---- activity: which user is active on which day -------------------------------------------
    days = np.arange(N_DAYS)
    weekday = np.array([(DATA_START + dt.timedelta(days=int(d))).weekday() for d in days])
    season = np.where(weekday >= 5, 0.85, 1.0)[None, :]
    engagement = _lognorm_mean1(0.7, z) * PLATFORM_ACTIVITY[platform]
    k = days[None, :] - arrival[:, None]
    p_returning = np.minimum(0.95, Q_RETURNING * engagement[:, None] * season)
    p_new_later = np.minimum(0.95, NEW_RETENTION_D1 * np.maximum(k, 1) ** -0.55 * _lognorm_mean1(0.6, z)[:, None])
    p_new = np.where(k == 0, 1.0, np.where(k > 0, p_new_later, 0.0))
    active = rng.random((n, N_DAYS)) < np.where(is_new[:, None], p_new, p_returning)

    # ---- sessions, sorted by user then start ---------------------------------------------------
    au, ad = np.nonzero(active)
    per_day = 1 + rng.poisson(EXTRA_SESSIONS, au.size)
    s_user, s_day = np.repeat(au, per_day), np.repeat(ad, per_day)
    n_s = s_user.size
    local_hour = rng.normal(15.0, 4.5, n_s) % 24
    utc_sec = (((local_hour - COUNTRY_UTC_OFFSET_H[country[s_user]]) % 24) * 3600).astype(np.int64)
    s_start = s_day * DAY + utc_sec % (DAY - 600)  # a session starts at least 10 minutes before midnight
    order = np.lexsort((s_start, s_user))
    s_user, s_start = s_user[order], s_start[order]
    s_dur = np.clip(np.rint(rng.lognormal(np.log(170) + 0.2 * z[s_user], 1.0)), 5, 4 * 3600).astype(np.int64)
    s_end = s_start + s_dur
    session_id = np.char.add("s", (rng.permutation(n_s) + 10_000_000).astype(str))

    def at(idx: np.ndarray, lo_frac: float = 0.0, hi_frac: float = 1.0, min_offset: int = 2) -> np.ndarray:
        """Random times inside sessions idx, between the given fractions of their duration."""
        span = s_dur[idx] - min_offset
        frac = lo_frac + (hi_frac - lo_frac) * rng.random(idx.size)
        return s_start[idx] + min_offset + np.floor(frac * span).astype(np.int64)

    # ---- exposures (first exposure per user and experiment) -------------------------------------
    def window(design: ExperimentDesign) -> tuple[int, int]:
        return day_index(design.start) * DAY, (day_index(design.exposure_end) + 1) * DAY

    def assign(design: ExperimentDesign, users: np.ndarray, t_first: np.ndarray) -> Arm:
        # what the OpenFeature SDK serves from exptrack's flag, as the exposure hook logged it (demo/assignment.py)
        variant, t_first = flags.expose(design.id, user_id[users], t_first)
        logged = np.ones(users.size, dtype=bool)
        for name, loss in LOGGING_LOSS.get(design.id, {}).items():
            hit = variant == design.variants.index(name)
            logged[hit] = rng.random(int(hit.sum())) >= loss
        return Arm(design, users, variant, t_first, logged)

    first_session = _first_per_user(s_user, np.ones(n_s, dtype=bool), n)
    signup_users = np.flatnonzero(is_new)
    signup_sess = first_session[signup_users]
    signup = assign(SIGNUP, signup_users, s_start[signup_sess] + 1)

    lo, hi = window(HOMEPAGE)
    home_first = _first_per_user(s_user, (s_start >= lo) & (s_start < hi), n)
    take = rng.random(n) < np.where(is_new, HOMEPAGE_TAKE[True], HOMEPAGE_TAKE[False])
    home_users = np.flatnonzero((home_first >= 0) & take)
    home = assign(HOMEPAGE, home_users, s_start[home_first[home_users]] + 1)

    buyer = _lognorm_mean1(0.5, z)
    checkout_flag = rng.random(n_s) < np.minimum(0.9, CHECKOUT_START * buyer[s_user])
    chk_idx = np.flatnonzero(checkout_flag)
    chk_t = at(chk_idx, 0.1, 0.6)
    lo, hi = window(CHECKOUT)
    chk_in = np.zeros(n_s, dtype=bool)
    chk_in[chk_idx[(chk_t >= lo) & (chk_t < hi)]] = True
    chk_t_full = np.zeros(n_s, dtype=np.int64)
    chk_t_full[chk_idx] = chk_t
    chk_first = _first_per_user(s_user, chk_in, n)
    chk_users = np.flatnonzero(chk_first >= 0)
    checkout = assign(CHECKOUT, chk_users, chk_t_full[chk_first[chk_users]])
    arms = [signup, home, checkout]

    # ---- events ---------------------------------------------------------------------------------
    parts: list[tuple[np.ndarray, np.ndarray, int, np.ndarray | None]] = []  # (time, session, event, value)
    all_s = np.arange(n_s)
    parts.append((s_start, all_s, EV["session_start"], None))
    parts.append((s_end, all_s, EV["session_end"], s_dur.astype(np.float64)))
    pv = np.repeat(all_s, rng.poisson(PAGE_VIEWS, n_s))
    parts.append((at(pv), pv, EV["page_view"], _page_load_ms(rng.spawn(1)[0], s_user[pv], platform)))
    ss = np.flatnonzero(rng.random(n_s) < SAVED_SEARCH * _lognorm_mean1(0.4, z)[s_user])
    parts.append((at(ss), ss, EV["saved_search_created"], None))
    parts.append((chk_t, chk_idx, EV["checkout_started"], None))

    # purchases: after a checkout start in the same session; no variant dependence
    p_buy = np.minimum(0.95, PURCHASE_AFTER_CHECKOUT * _lognorm_mean1(0.3, z)[s_user[chk_idx]])
    bought = rng.random(chk_idx.size) < p_buy
    b_sess, b_from = chk_idx[bought], chk_t[bought]
    b_t = b_from + 1 + np.floor(rng.random(b_sess.size) * (s_end[b_sess] - b_from)).astype(np.int64)
    b_val = np.round(rng.lognormal(np.log(38.0), 0.8, b_sess.size) * COUNTRY_SPEND[country[s_user[b_sess]]], 2)
    parts.append((b_t, b_sess, EV["purchase"], b_val))

    # card impressions and clicks: CTR multiplier after the homepage exposure
    imp = np.repeat(all_s, rng.poisson(IMPRESSIONS, n_s))
    imp_t = at(imp)
    parts.append((imp_t, imp, EV["card_impression"], None))
    ctr_mult = np.ones(n)
    t_home = np.full(n, np.iinfo(np.int64).max)
    t_home[home.users] = home.t_first
    for code, name in enumerate(HOMEPAGE.variants):
        ctr_mult[home.users[home.variant == code]] = CTR[name] / CTR[HOMEPAGE.control]
    imp_u = s_user[imp]
    p_click = CTR[HOMEPAGE.control] * click_affinity[imp_u] * np.where(imp_t >= t_home[imp_u], ctr_mult[imp_u], 1.0)
    clicked = rng.random(imp.size) < p_click
    c_sess = imp[clicked]
    c_t = np.minimum(imp_t[clicked] + 1 + rng.integers(0, 25, c_sess.size), s_end[c_sess])
    parts.append((c_t, c_sess, EV["card_click"], None))

    # app errors: session candidates, logged through the per-user gate
    err = np.repeat(
        all_s, rng.poisson(ERRORS_PER_SESSION * PLATFORM_ERRORS[platform[s_user]] * _lognorm_mean1(0.5, z)[s_user])
    )
    err_t = at(err)
    gate_pre = rng.random(n) < ERROR_GATE
    gate_post = gate_pre.copy()
    t_chk = np.full(n, np.iinfo(np.int64).max)
    t_chk[checkout.users] = checkout.t_first
    harmed = checkout.users[checkout.variant == CHECKOUT.variants.index("one_page")]
    gate_post[harmed] |= rng.random(harmed.size) < ERROR_HARM * ERROR_GATE / (1 - ERROR_GATE)
    err_u = s_user[err]
    keep = np.where(err_t >= t_chk[err_u], gate_post[err_u], gate_pre[err_u])
    parts.append((err_t[keep], err[keep], EV["app_error"], None))

    # signups: new visitors, inside the session where they saw the signup page
    w = PLATFORM_SIGNUP[platform] / np.dot(PLATFORM_P, PLATFORM_SIGNUP) * _lognorm_mean1(0.25, z)
    rate = np.array([SIGNUP_RATE[v] for v in SIGNUP.variants])[signup.variant]
    converted = rng.random(signup.users.size) < rate * w[signup.users]
    su_sess = signup_sess[converted]
    su_t = (
        signup.t_first[converted]
        + 1
        + np.floor(rng.random(su_sess.size) * (s_end[su_sess] - signup.t_first[converted] - 1)).astype(np.int64)
    )
    parts.append((su_t, su_sess, EV["signup_completed"], None))

    ev_t = np.concatenate([p[0] for p in parts])
    ev_sess = np.concatenate([p[1] for p in parts])
    ev_name = np.concatenate([np.full(p[1].size, p[2], dtype=np.int8) for p in parts])
    ev_value = np.concatenate([p[3] if p[3] is not None else np.full(p[1].size, np.nan) for p in parts])
    inside = ev_t < END_SEC
    order = np.argsort(ev_t[inside], kind="stable")
    ev_t, ev_sess, ev_name, ev_value = (a[inside][order] for a in (ev_t, ev_sess, ev_name, ev_value))

    ex = _exposure_rows(
        rng, arms, s_user, s_start, window, lambda arm, users, t: flags.expose(arm.design.id, user_id[users], t)[0]
    )
    return World(
        n_returning=n_ret,
        n_new=n_new,
        user_id=user_id,
        platform=PLATFORMS[platform],
        country=COUNTRIES[country],
        is_new=is_new,
        session_id=session_id,
        ev_t=ev_t,
        ev_user=s_user[ev_sess],
        ev_name=ev_name,
        ev_value=ev_value,
        ev_session=ev_sess,
        arms=arms,
        **ex,
    )


def _exposure_rows(rng, arms, s_user, s_start, window, expose) -> dict:
    """First exposures, repeat visits (the flag evaluated again in a later session, logged by the hook through `expose`:
    the same variant) and a few other-variant rows (a planted client bug: a variant the flag did not serve)."""
    users, exps, variants, times, kinds = [], [], [], [], []
    multi, repeats = {}, {}
    key = s_user.astype(np.int64) * (END_SEC + 1) + s_start
    for e, arm in enumerate(arms):
        names = np.array(arm.design.variants)
        u, v, t = arm.users[arm.logged], arm.variant[arm.logged], arm.t_first[arm.logged]
        _, hi = window(arm.design)
        base = u.astype(np.int64) * (END_SEC + 1)
        first_later = np.searchsorted(key, base + t, side="right")
        n_later = np.searchsorted(key, base + hi, side="left") - first_later

        def later_session_time(
            rows: np.ndarray, first_later: np.ndarray = first_later, n_later: np.ndarray = n_later
        ) -> np.ndarray:
            pick = first_later[rows] + np.floor(rng.random(rows.size) * n_later[rows]).astype(np.int64)
            return s_start[pick] + 1

        eligible = np.flatnonzero(n_later > 0)
        share = min(1.0, REPEAT_EXPOSURE_SHARE * u.size / max(eligible.size, 1))
        rep = eligible[rng.random(eligible.size) < share]
        rep_rows = np.concatenate([rep, rep[rng.random(rep.size) < 0.35]])  # some users come back twice
        rep_t = later_session_time(rep_rows)
        rep_rows, rep_t = np.unique(np.stack([rep_rows, rep_t]), axis=1)  # a session counts once
        repeats[arm.design.id] = int(np.unique(rep_rows).size)
        rep_variant = expose(arm, u[rep_rows], rep_t)

        n_multi = min(u.size, max(1, round(MULTI_VARIANT_SHARE * u.size)))
        mv = rng.choice(u.size, n_multi, replace=False)
        shift = rng.integers(1, len(names), n_multi)
        mv_variant = (v[mv] + shift) % len(names)
        has_later = n_later[mv] > 0
        mv_t = np.where(has_later, 0, t[mv] + rng.integers(60, 3600, n_multi))
        mv_t[has_later] = later_session_time(mv[has_later])
        mv_t = np.minimum(mv_t, hi - 1)
        multi[arm.design.id] = int(n_multi)

        users += [u, u[rep_rows], u[mv]]
        variants += [names[v], names[rep_variant], names[mv_variant]]
        times += [t, rep_t, mv_t]
        kinds += [np.zeros(u.size, np.int8), np.ones(rep_rows.size, np.int8), np.full(n_multi, 2, np.int8)]
        exps += [np.full(u.size + rep_rows.size + n_multi, e, np.int8)]
    ex_t = np.concatenate(times)
    order = np.argsort(ex_t, kind="stable")
    return {
        "ex_user": np.concatenate(users)[order],
        "ex_exp": np.concatenate(exps)[order],
        "ex_variant": np.concatenate(variants)[order],
        "ex_t": ex_t[order],
        "ex_kind": np.concatenate(kinds)[order],
        "multi_variant_users": multi,
        "repeat_users": repeats,
    }
